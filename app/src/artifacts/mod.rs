//! The job pane's Artifacts tab: the files a job produced (by its runner or through MLflow) as a
//! tree that opens folder by folder, with sizes, times and downloads (a folder as a zip), and a
//! preview of the open file: images, text, Markdown, JSON and YAML, tables, MLflow models.

#[cfg(feature = "ssr")]
pub mod preview;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod view;
