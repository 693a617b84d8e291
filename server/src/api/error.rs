//! The REST API's one error shape: `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use app::error::AppError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An [`AppError`] answered as JSON with its HTTP status, naming the offending field if known.
#[derive(Debug)]
pub struct ApiError {
    /// What went wrong.
    pub error: AppError,
    /// Where in the request, e.g. `points[17].value`.
    pub field: Option<String>,
    /// Said instead of the error's own message, where that would mislead (a runner is told
    /// about its token, not asked to sign in).
    pub message: Option<String>,
}

impl ApiError {
    /// A bad value at `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: AppError::Invalid(message.into()),
            field: Some(field.into()),
            message: None,
        }
    }

    /// `error`'s status and code with `message` as the text.
    pub fn saying(error: AppError, message: impl Into<String>) -> Self {
        Self {
            error,
            field: None,
            message: Some(message.into()),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self {
            error,
            field: None,
            message: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let error = match &rejection {
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                AppError::TooLarge(format!(
                    "the body is over the limit of {} MB",
                    super::BODY_LIMIT >> 20
                ))
            }
            _ => AppError::Invalid(rejection.body_text()),
        };
        error.into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = self.message.unwrap_or_else(|| self.error.to_string());
        let mut body = json!({ "code": self.error.code(), "message": message });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        if let Some(id) = crate::request_id::current() {
            body["request_id"] = id.into();
        }
        (status, Json(json!({ "error": body }))).into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::Invalid(rejection.body_text()).into()
    }
}

/// `axum::extract::Query` whose rejections (a missing or malformed parameter) use [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::Json` whose rejections (bad JSON, wrong content type, too big) use [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
