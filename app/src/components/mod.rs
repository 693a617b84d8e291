//! The views pages are built from: the Miller columns, the job pane, error notices.

pub mod browse;
pub mod chart_view;
pub mod column;
pub mod compare_view;
pub mod error_notice;
pub mod job_logs;
pub mod job_pane;
pub mod job_table;
pub mod local_time;
pub mod members_dialog;
pub mod metric_panels;
pub mod page_bar;
pub mod panel_order;
pub mod project_pane;
pub mod row_actions;
pub mod rows;
pub mod sweep_view;
pub mod sweeps_view;
pub mod widths;
