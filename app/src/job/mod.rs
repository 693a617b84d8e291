//! One job: its pane (overview, metrics, logs, config), its output, and the server functions
//! that read and change jobs.

pub mod logs;
pub mod pane;
pub mod runs;
pub mod server_fns;
