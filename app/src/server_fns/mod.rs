//! Server functions, one file per resource; their bodies run only on the server.

pub mod session;
pub mod users;
