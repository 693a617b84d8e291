//! millrace's own REST API under `/api/v1`: the route table.

pub mod error;
mod me;

use app::error::AppError;
use app::state::AppState;
use axum::routing::get;
use axum::Router;
use error::ApiError;

/// The `/api/v1` routes; unknown paths answer 404 in the API's error shape.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::show))
        .fallback(|| async { ApiError(AppError::NotFound) })
}
