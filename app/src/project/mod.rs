//! Projects: what creating one checks, wherever the request comes from.

#[cfg(feature = "ssr")]
pub mod create;
