//! A job's artifacts: the files it produced (by its runner or through MLflow), read from the
//! server's disk.

#[cfg(feature = "ssr")]
pub mod store;
