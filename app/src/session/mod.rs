//! Signing in and out: the login page and its server functions.

pub mod login;
pub mod server_fns;
