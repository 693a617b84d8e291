//! millrace's own REST API under `/api/v1`: the route table.

pub mod error;
pub mod jobs;
pub mod logs;
mod me;
pub mod metrics;

use app::error::AppError;
use app::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use error::ApiError;

/// Largest request body: 10,000 points or log lines with room to spare.
pub const BODY_LIMIT: usize = 16 << 20;

/// The `/api/v1` routes; unknown paths answer 404 in the API's error shape.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::show))
        .route("/projects/{owner}/{project}/jobs", post(jobs::create))
        .route("/jobs/{uid}", get(jobs::show))
        .route("/jobs/{uid}/status", post(jobs::set_status))
        .route("/jobs/{uid}/metrics", post(metrics::append))
        .route("/jobs/{uid}/logs", post(logs::append))
        .fallback(|| async { ApiError::from(AppError::NotFound) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}
