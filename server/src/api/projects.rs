//! `/api/v1/projects`: create a project of your own, read one, list a user's.

use super::access::{ReadProject, Signed};
use super::error::{ApiError, ApiJson, ApiQuery};
use app::auth::access::may_write;
use app::db;
use app::error::AppError;
use app::model::{Filter, NewProject, Page, ProjectSort, ProjectSummary, SortDir};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

/// Most projects one page of a listing holds.
const MAX_PAGE: u32 = 200;

/// Creates a project owned by the caller; 201 with it, 409 if the name is taken.
pub async fn create(
    State(state): State<AppState>,
    Signed(caller): Signed,
    ApiJson(new): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<ProjectSummary>), ApiError> {
    may_write(&caller)?;
    let made = app::project::create::create(&state.db, &caller.user, &new).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// One project.
pub async fn show(ReadProject(project): ReadProject) -> Json<ProjectSummary> {
    Json(project.into())
}

/// `?cursor=&limit=&archived=` of a listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    #[serde(default)]
    archived: bool,
}

/// The projects of user `{owner}` the caller may see, most recently active first.
pub async fn list(
    State(state): State<AppState>,
    Signed(caller): Signed,
    Path(owner): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<ProjectSummary>>, ApiError> {
    let owner = db::users::find_by_name(&state.db, &owner)
        .await?
        .ok_or(AppError::NotFound)?;
    let filter = Filter {
        archived: query.archived,
        ..Filter::default()
    };
    let page = db::projects::page_for_owner(
        &state.db,
        caller.user.id,
        owner.id,
        ProjectSort::Updated,
        SortDir::Desc,
        &filter,
        query.cursor.as_deref(),
        query.limit.unwrap_or(50).clamp(1, MAX_PAGE),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(page))
}
