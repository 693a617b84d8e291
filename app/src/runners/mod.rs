//! The runners page: who can take jobs, and what they run.

#[cfg(feature = "ssr")]
pub mod fleet;
pub mod page;
pub mod pool;
pub mod server_fns;
