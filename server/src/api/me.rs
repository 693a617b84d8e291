//! `GET /api/v1/me`: who the caller is, a simple way to check a token.

use super::error::ApiError;
use app::auth::CurrentUser;
use app::error::AppError;
use app::model::Me;
use axum::{Extension, Json};

/// The calling user.
pub async fn show(user: Option<Extension<CurrentUser>>) -> Result<Json<Me>, ApiError> {
    let Extension(CurrentUser(user)) = user.ok_or(ApiError::from(AppError::Unauthorized))?;
    Ok(Json(Me {
        name: user.name,
        display_name: user.display_name,
    }))
}
