//! The jobs column, the job pane, and what the context menu and bulk bar do to jobs.

use crate::error::AppError;
use crate::model::{JobDetail, JobSort, JobSummary, Page};
use crate::view_query::ColumnQuery;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of the jobs of `owner/project`, after `cursor`.
#[server(input = Json, endpoint = "list_jobs")]
pub async fn list_jobs(
    owner: String,
    project: String,
    query: ColumnQuery<JobSort>,
    cursor: Option<String>,
) -> Result<Page<JobSummary>, AppError> {
    use crate::{db, server_fns::with_status, state::AppState};

    let query = query.clamped();
    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = super::service::visible_project(&state, &owner, &project).await?;
            let page = db::jobs::page(
                &state.db,
                project.id,
                &query.sort,
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

/// Everything the job pane shows: the job named `job` (its number or global id) in
/// `owner/project`, its parameters, tags and metric summaries.
#[server(input = Json, endpoint = "get_job")]
pub async fn get_job(owner: String, project: String, job: String) -> Result<JobDetail, AppError> {
    use crate::{server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = super::service::visible_project(&state, &owner, &project).await?;
            super::service::job_detail(&state, &project, &job).await
        }
        .await,
    )
}

/// Sets tag `key` (to `value`, may be empty) on the jobs with global ids `jobs` of
/// `owner/project`, all or none.
#[server(input = Json, endpoint = "tag_jobs")]
pub async fn tag_jobs(
    owner: String,
    project: String,
    jobs: Vec<String>,
    key: String,
    value: String,
) -> Result<(), AppError> {
    use crate::{db, server_fns::with_status};

    with_status(
        async {
            use crate::limits::{check_length, MAX_KEY, MAX_TAG_VALUE};
            let (key, value) = (key.trim(), value.trim());
            check_length("a tag key", key, MAX_KEY, false).map_err(AppError::Invalid)?;
            check_length("a tag value", value, MAX_TAG_VALUE, true).map_err(AppError::Invalid)?;
            let (mut tx, ids) = super::service::jobs_to_write(&owner, &project, &jobs).await?;
            for id in ids {
                db::jobs::set_tag(&mut tx, id, key, value).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Archives (or restores) the jobs with global ids `jobs` of `owner/project`, all or none.
#[server(input = Json, endpoint = "archive_jobs")]
pub async fn archive_jobs(
    owner: String,
    project: String,
    jobs: Vec<String>,
    archived: bool,
) -> Result<(), AppError> {
    use crate::{db, server_fns::with_status};

    with_status(
        async {
            let (mut tx, ids) = super::service::jobs_to_write(&owner, &project, &jobs).await?;
            for id in ids {
                db::jobs::set_archived(&mut tx, id, archived).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Renames the job with global id `job` of `owner/project`.
#[server(input = Json, endpoint = "rename_job")]
pub async fn rename_job(
    owner: String,
    project: String,
    job: String,
    name: String,
) -> Result<(), AppError> {
    use crate::{db, server_fns::with_status};

    with_status(
        async {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 250 {
                return Err(AppError::Invalid(
                    "a job name has 1 to 250 characters".into(),
                ));
            }
            let (mut tx, ids) = super::service::jobs_to_write(&owner, &project, &[job]).await?;
            db::jobs::rename(&mut tx, ids[0], name).await?;
            tx.commit().await?;
            Ok(())
        }
        .await,
    )
}
