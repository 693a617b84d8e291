//! The settings pages: API tokens and signed-in sessions, their server functions and the logic
//! behind them on the server (`service`).

#[cfg(feature = "ssr")]
pub mod service;
pub mod tokens;
pub mod tokens_page;
