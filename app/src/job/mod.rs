//! One job: its pane (overview, metrics, logs, config), its output, the server functions that
//! read and change jobs, and their logic on the server (`service`).

pub mod logs;
pub mod pane;
pub mod runs;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
