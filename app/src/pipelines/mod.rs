//! Pipelines: the project's runs of pipeline specs and one run's graph of steps, their server
//! functions and the logic behind them on the server (`service`, which also lays out the graph).

pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod view;
