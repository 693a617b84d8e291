//! The views pages are built from: the Miller columns, the job pane, error notices.

pub mod browse;
pub mod column;
pub mod error_notice;
pub mod job_logs;
pub mod job_pane;
pub mod metric_panels;
pub mod row_actions;
pub mod rows;
pub mod widths;
