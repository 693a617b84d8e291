//! Projects: what creating one checks, wherever the request comes from; the new-project page,
//! the project views' pane, members, the server functions of the projects column and their
//! logic on the server (`create`, `service`).

#[cfg(feature = "ssr")]
pub mod create;
pub mod members;
pub mod members_dialog;
pub mod new_page;
pub mod pane;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
