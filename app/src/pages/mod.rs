//! Route components: each reads its URL, owns its data and hands plain values to components.

pub mod browse;
pub mod login;
pub mod new_project;
pub mod not_found;
pub mod runners;
pub mod settings;
