//! Hyperparameter sweeps: the project's list of sweeps, one sweep's results, their statistics,
//! server functions and the logic behind them on the server (`service`).

pub mod list;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod stats;
pub mod view;
