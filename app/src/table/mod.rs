//! The project table view: a row per job, chosen columns, any sort.

pub mod server_fns;
pub mod view;
