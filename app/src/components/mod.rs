//! Reusable views that take plain values or signals and never call server functions.

pub mod error_notice;
