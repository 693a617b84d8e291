//! Reactive helpers that talk to the browser: live updates, what is on screen.

pub mod use_on_screen;
pub mod use_page_events;
pub mod use_width;
