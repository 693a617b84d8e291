//! The settings pages: API tokens and signed-in sessions.

pub mod tokens;
pub mod tokens_page;
