//! Metric charts: a job's metrics tab (panels, their settings and order), the project's graph
//! view comparing jobs, the server functions that read series for them, and the logic behind
//! those on the server (`service`).

pub mod chart_view;
pub mod compare;
pub mod panel_order;
pub mod panels;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
