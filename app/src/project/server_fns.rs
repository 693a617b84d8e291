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
    use crate::{auth::require_caller, db, server_fns::with_status, state::AppState};

    let query = query.clamped();
    with_status(
        async {
            let state = expect_context::<AppState>();
            let viewer = require_caller()?.user;
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
                crate::server_fns::PAGE_SIZE,
            )
            .await?;
            Ok(page)
        }
        .await,
    )
}

/// Creates a project of the signed-in user's; a form posted without JavaScript goes on to it.
#[server(endpoint = "create_project")]
pub async fn create_project(
    name: String,
    description: String,
    private: Option<String>,
) -> Result<ProjectSummary, AppError> {
    use crate::auth::{access::may_write, require_caller};
    use crate::{model::NewProject, server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let caller = require_caller()?;
            may_write(&caller)?;
            let new = NewProject {
                name,
                description,
                // A checkbox is sent only when ticked.
                private: private.is_some(),
            };
            let made = crate::project::create::create(&state.db, &caller.user, &new).await?;
            if crate::server_fns::is_plain_form_post() {
                leptos_axum::redirect(&project_href(&made));
            }
            Ok(made)
        }
        .await,
    )
}

/// The URL of `project`'s jobs column.
pub fn project_href(project: &ProjectSummary) -> String {
    crate::view_query::ViewPath {
        user: Some(project.owner.clone()),
        project: Some(project.name.clone()),
        job: None,
    }
    .href()
}

/// Renames `owner/project` (only its owner or an admin may); answers the new name, which is its new URL.
#[server(input = Json, endpoint = "rename_project")]
pub async fn rename_project(
    owner: String,
    project: String,
    name: String,
) -> Result<String, AppError> {
    use crate::model::Name;
    use crate::{db, server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = super::service::managed_project(&state, &owner, &project).await?;
            let name = Name::parse(name.trim(), Name::MAX_PROJECT)
                .map_err(|e| AppError::Invalid(e.to_string()))?;
            if db::projects::find_visible(&state.db, project.owner_id, &owner, name.as_str())
                .await?
                .is_some_and(|other| other.id != project.id)
            {
                return Err(AppError::Invalid(format!(
                    "{owner} already has a project named {name}"
                )));
            }
            db::projects::rename(&state.db, project.id, name.as_str(), "").await?;
            Ok(name.to_string())
        }
        .await,
    )
}

/// Archives the projects named `projects` of `owner` (only their owner or an admin may).
#[server(input = Json, endpoint = "archive_projects")]
pub async fn archive_projects(
    owner: String,
    projects: Vec<String>,
    archived: bool,
) -> Result<(), AppError> {
    use crate::{db, server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            if projects.is_empty() || projects.len() > 1000 {
                return Err(AppError::Invalid("choose 1 to 1,000 projects".into()));
            }
            // All are checked before any is changed.
            let mut ids = Vec::with_capacity(projects.len());
            for name in &projects {
                ids.push(
                    super::service::managed_project(&state, &owner, name)
                        .await?
                        .id,
                );
            }
            for id in ids {
                db::projects::set_archived(&state.db, id, archived).await?;
            }
            Ok(())
        }
        .await,
    )
}
