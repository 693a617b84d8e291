//! `/api/v1/projects/{owner}/{project}/members`: who, beside its owner, reads and writes a
//! project. Anyone who may read the project sees the list; its owner (or an admin) changes it.

use super::access::{ManageProject, ReadProject};
use super::error::ApiError;
use app::db;
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

/// The project's owner and members.
pub async fn list(
    State(state): State<AppState>,
    ReadProject(project): ReadProject,
) -> Result<Json<Value>, ApiError> {
    let members: Vec<Value> = db::projects::members(&state.db, project.id)
        .await?
        .into_iter()
        .map(|u| json!({ "name": u.name, "display_name": u.display_name }))
        .collect();
    Ok(Json(json!({ "owner": project.owner, "members": members })))
}

/// Makes user `{user}` a member (again: adding a member twice is no error).
pub async fn add(
    State(state): State<AppState>,
    ManageProject(project): ManageProject,
    Path((_, _, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = db::users::find_by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::invalid("user", format!("there is no user '{name}'")))?;
    if user.id == project.owner_id {
        return Err(ApiError::invalid(
            "user",
            format!("{name} owns {}/{}", project.owner, project.name),
        ));
    }
    db::projects::add_member(&state.db, project.id, user.id).await?;
    Ok(Json(json!({ "member": user.name })))
}

/// Ends user `{user}`'s membership.
pub async fn remove(
    State(state): State<AppState>,
    ManageProject(project): ManageProject,
    Path((_, _, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = db::users::find_by_name(&state.db, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    if !db::projects::remove_member(&state.db, project.id, user.id).await? {
        return Err(ApiError::saying(
            AppError::NotFound,
            format!(
                "{name} is not a member of {}/{}",
                project.owner, project.name
            ),
        ));
    }
    Ok(Json(json!({ "removed": user.name })))
}
