//! Metric charts: a job's metrics tab (panels, their settings and order), the project's graph
//! view comparing jobs, and the server functions that read series for them.

pub mod chart_view;
pub mod compare;
pub mod panel_order;
pub mod panels;
pub mod server_fns;
