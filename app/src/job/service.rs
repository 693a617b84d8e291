//! The job feature's logic on the server: which project and jobs a caller may see or change,
//! and a job's detail as the pane shows it. Server functions call it; so do other features.

use crate::auth::access::{self, Act};
use crate::auth::require_caller;
use crate::db::{self, jobs::Job, projects::Project, Tx};
use crate::error::AppError;
use crate::model::{JobDetail, JobStatus, MetricSummary};
use crate::state::AppState;
use leptos::prelude::expect_context;

/// The project `owner/name` if the signed-in user may see it.
pub async fn visible_project(
    state: &AppState,
    owner: &str,
    name: &str,
) -> Result<Project, AppError> {
    access::project(&state.db, &require_caller()?, owner, name, Act::Read).await
}

/// For an action on the jobs with global ids `uids` of `owner/project`: a write
/// transaction and their database ids, every one checked before anything is written.
/// Only the project's owner and members (and admins) may act on its jobs.
pub async fn jobs_to_write(
    owner: &str,
    project: &str,
    uids: &[String],
) -> Result<(Tx, Vec<i64>), AppError> {
    let state = expect_context::<AppState>();
    let caller = require_caller()?;
    let project = access::project(&state.db, &caller, owner, project, Act::Write).await?;
    let ids = job_ids(&state, project.id, uids).await?;
    Ok((state.db.begin().await?, ids))
}

/// The database ids of the jobs with global ids `uids` in `project`; any missing one
/// fails the whole request, so a bulk action is all or nothing.
async fn job_ids(state: &AppState, project: i64, uids: &[String]) -> Result<Vec<i64>, AppError> {
    if uids.is_empty() || uids.len() > 10_000 {
        return Err(AppError::Invalid("choose 1 to 10,000 jobs".into()));
    }
    let mut ids = Vec::with_capacity(uids.len());
    for uid in uids {
        let job = db::jobs::find_in_project(&state.db, project, uid)
            .await?
            .filter(|job| job.uid == *uid)
            .ok_or(AppError::NotFound)?;
        ids.push(job.id);
    }
    Ok(ids)
}

/// The job pane's data for the job named `id` in `project`.
pub async fn job_detail(
    state: &AppState,
    project: &Project,
    id: &str,
) -> Result<JobDetail, AppError> {
    let job: Job = db::jobs::find_in_project(&state.db, project.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tags = db::jobs::tags(&state.db, job.id).await?;
    let ending = db::queue::ending(&state.db, job.id).await?;
    let runs_here = db::queue::is_run_here(&state.db, job.id).await?;
    let env = db::queue::env_names(&state.db, job.id).await?;
    let mut conn = state.db.pool().acquire().await?;
    let metrics = db::metrics::summaries(&mut conn, job.id)
        .await?
        .into_iter()
        .map(|s| MetricSummary {
            key: s.key,
            count: s.count,
            last: s.last,
            last_step: s.last_step,
            min: s.min,
            max: s.max,
        })
        .collect();
    let params: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&job.params).unwrap_or_default();
    let params = params
        .into_iter()
        .map(|(key, value)| {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            (key, text)
        })
        .collect();
    Ok(JobDetail {
        owner: project.owner.clone(),
        project: project.name.clone(),
        number: job.number,
        uid: job.uid,
        name: job.name,
        status: JobStatus::from_code(job.status).unwrap_or(JobStatus::Lost),
        command: job.command,
        params,
        tags,
        created_ms: job.created_ms,
        started_ms: job.started_ms,
        finished_ms: job.finished_ms,
        duration_ms: job.duration_ms,
        gpus: job.gpus,
        gpu_models: ending.gpus(),
        gpu_memory_mib: ending.gpu_memory_mib,
        gpu_model: ending.gpu_model.clone(),
        cost_usd: job.cost_usd,
        archived: job.archived != 0,
        metrics,
        runner: ending.runner,
        exit_code: ending.exit_code,
        error: ending.error,
        runs_here,
        env,
    })
}
