//! MLflow's error shape, `{"error_code": "...", "message": "..."}`, with MLflow's HTTP statuses.

use app::error::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error as the official MLflow client reads it. Client mistakes are never 5xx: the client
/// retries those.
#[derive(Debug)]
pub struct MlflowError {
    /// MLflow's `ErrorCode` name.
    pub code: &'static str,
    /// For the person reading the client's exception.
    pub message: String,
}

impl MlflowError {
    /// `INVALID_PARAMETER_VALUE` (400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: "INVALID_PARAMETER_VALUE",
            message: message.into(),
        }
    }

    /// `RESOURCE_DOES_NOT_EXIST` (404).
    pub fn missing(message: impl Into<String>) -> Self {
        Self {
            code: "RESOURCE_DOES_NOT_EXIST",
            message: message.into(),
        }
    }

    /// `RESOURCE_ALREADY_EXISTS` (400).
    pub fn exists(message: impl Into<String>) -> Self {
        Self {
            code: "RESOURCE_ALREADY_EXISTS",
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self.code {
            "RESOURCE_DOES_NOT_EXIST" | "ENDPOINT_NOT_FOUND" => StatusCode::NOT_FOUND,
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "PERMISSION_DENIED" => StatusCode::FORBIDDEN,
            "INTERNAL_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
            "NOT_IMPLEMENTED" => StatusCode::NOT_IMPLEMENTED,
            "REQUEST_LIMIT_EXCEEDED" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<AppError> for MlflowError {
    fn from(error: AppError) -> Self {
        let code = match error {
            AppError::NotFound => "RESOURCE_DOES_NOT_EXIST",
            AppError::Unauthorized => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "PERMISSION_DENIED",
            AppError::Invalid(_) | AppError::TooLarge(_) | AppError::Conflict(_) => {
                "INVALID_PARAMETER_VALUE"
            }
            AppError::Throttled(_) => "REQUEST_LIMIT_EXCEEDED",
            AppError::Internal | AppError::Transport(_) => "INTERNAL_ERROR",
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

impl From<sqlx::Error> for MlflowError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({ "error_code": self.code, "message": self.message })),
        )
            .into_response()
    }
}
