//! The job a `/jobs/{uid}/...` route names, looked up once for every handler that needs it.

use super::error::ApiError;
use app::auth::CurrentUser;
use app::db::{self, jobs::Job};
use app::error::AppError;
use app::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::collections::HashMap;

/// The job whose global id is the route's `{uid}`, if the caller may see its project; else the
/// request is answered 404 (401 without a caller).
#[derive(Clone, Debug)]
pub struct VisibleJob(pub Job);

impl FromRequestParts<AppState> for VisibleJob {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(user) = parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthorized)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let uid = params.get("uid").ok_or(AppError::NotFound)?;
        let job = db::jobs::find_visible(&state.db, user.id, uid)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Self(job))
    }
}
