//! The millrace server: command line, startup, HTTP routes, REST API and demo data.

// The app's view types nest deeply; release builds (without `erase_components`) need room.
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod middleware;
pub mod mlflow;
pub mod protojson;
pub mod startup;
pub mod telemetry;
