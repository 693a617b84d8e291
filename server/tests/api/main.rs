//! REST and auth tests: the real router on a real SQLite file, driven without a socket.

mod auth;
mod clamps;
mod compression;
mod config;
mod events;
mod helpers;
mod jobs;
mod logs;
mod mlflow_artifacts;
mod mlflow_bounds;
mod mlflow_search;
mod monitoring;
mod permissions;
mod projects;
mod runner;
mod s3;
mod secrets;
mod sign_in;
mod sweeps;
mod uploads;
mod validators;
