//! The one error type that crosses the network, for server functions and the REST API.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A failure as the client sees it: no internal detail (that is logged where it is dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// The thing asked for does not exist, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// No valid session or token.
    #[error("sign in to continue")]
    Unauthorized,
    /// The caller is known but may not do this (a viewer writing, a read-only token); the
    /// message says what would be needed.
    #[error("{0}")]
    Forbidden(String),
    /// The request is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The request is bigger than the server takes; the message gives the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The request clashes with the current state (a runner reporting on a job it lost).
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins: the caller may try again after this many seconds.
    #[error("too many failed sign-ins: try again in {0} s")]
    Throttled(u64),
    /// Our fault; the details are in the server log.
    #[error("something went wrong on our side")]
    Internal,
    /// The browser could not reach the server.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status that goes with the error.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::Invalid(_) => 400,
            Self::TooLarge(_) => 413,
            Self::Conflict(_) => 409,
            Self::Throttled(_) => 429,
            Self::Internal => 500,
            Self::Transport(_) => 502,
        }
    }

    /// A stable machine-readable name, used as `error.code` in the REST API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid(_) => "invalid",
            Self::TooLarge(_) => "too_large",
            Self::Conflict(_) => "conflict",
            Self::Throttled(_) => "throttled",
            Self::Internal => "internal",
            Self::Transport(_) => "transport",
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => Self::Invalid(m),
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<crate::db::PageError> for AppError {
    fn from(e: crate::db::PageError) -> Self {
        match e {
            crate::db::PageError::Cursor(bad) => Self::Invalid(bad.to_string()),
            crate::db::PageError::Db(e) => e.into(),
        }
    }
}
