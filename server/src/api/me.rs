//! `GET /api/v1/me`: who the caller is, a simple way to check a token.

use super::access::Signed;
use super::error::ApiError;
use app::model::Me;
use axum::Json;

/// The calling user.
pub async fn show(Signed(caller): Signed) -> Result<Json<Me>, ApiError> {
    let user = caller.user;
    Ok(Json(Me {
        name: user.name,
        display_name: user.display_name,
    }))
}
