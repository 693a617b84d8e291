//! The projects column and what its context menu does to a project.

use crate::error::AppError;
use crate::model::{Page, ProjectSort, ProjectSummary};
use crate::view_query::ColumnQuery;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of `owner`'s projects, after `cursor`.
#[server(input = Json, endpoint = "list_projects")]
pub async fn list_projects(
    owner: String,
    query: ColumnQuery<ProjectSort>,
    cursor: Option<String>,
) -> Result<Page<ProjectSummary>, AppError> {
    use crate::{auth::require_user, db, server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let viewer = require_user()?;
            let owner = db::users::find_by_name(&state.db, &owner)
                .await?
                .ok_or(AppError::NotFound)?;
            let page = db::projects::page_for_owner(
                &state.db,
                viewer.id,
                owner.id,
                query.sort,
                query.dir,
                &query.filter,
                cursor.as_deref(),
                super::PAGE_SIZE,
            )
            .await?;
            Ok(page)
        }
        .await,
    )
}
