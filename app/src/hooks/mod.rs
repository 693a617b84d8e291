//! Reactive helpers that talk to the browser: live updates.

pub mod use_project_events;
