//! The millrace server: command line, startup, HTTP routes, REST API, job runner and demo data.

// The app's view types nest deeply; release builds (without `erase_components`) need room.
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod client;
pub mod commands;
pub mod compression;
pub mod csrf;
pub mod demo;
pub mod download;
pub mod events;
pub mod files;
pub mod leader;
pub mod middleware;
pub mod mlflow;
pub mod monitoring;
pub mod protojson;
pub mod remote;
pub mod request_id;
pub mod runner;
pub mod scheduler;
pub mod secret;
pub mod site_files;
pub mod snapshot;
pub mod spec;
pub mod startup;
pub mod sweep;
pub mod telemetry;
pub mod validators;
