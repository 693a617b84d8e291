//! Hyperparameter sweeps: the project's list of sweeps, one sweep's results, their statistics
//! and server functions.

pub mod list;
pub mod server_fns;
pub mod stats;
pub mod view;
