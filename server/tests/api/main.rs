//! REST and auth tests: the real router on a real SQLite file, driven without a socket.

mod auth;
mod config;
mod events;
mod helpers;
mod jobs;
mod logs;
mod sweeps;
mod uploads;
