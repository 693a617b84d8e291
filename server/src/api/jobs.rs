//! `/api/v1` jobs: create one in a project, read its summary, set its status.

use super::access::{ReadJob, ReadProject, RunsIn, Signed, WriteJob};
use super::error::{ApiError, ApiJson};
use crate::protojson::stored_double_json;
use app::db::{self, events, jobs::NewJob};
use app::error::AppError;
use app::limits::{check_length, MAX_KEY, MAX_PARAM_VALUE, MAX_TAG_VALUE};
use app::model::{JobStatus, HIDDEN_VALUE};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Longest job name or metric key accepted (MLflow's limit for run names and keys).
pub const MAX_NAME: usize = app::limits::MAX_RUN_NAME;

/// Body of `POST /api/v1/projects/{owner}/{project}/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJobBody {
    name: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    gpus: i64,
    /// `running` (the default: a tracked run reports from elsewhere) or `queued`.
    #[serde(default)]
    status: Option<JobStatus>,
}

/// Creates a job in a project the caller may create runs in; answers 201 with its number and
/// id.
pub async fn create(
    State(state): State<AppState>,
    Signed(caller): Signed,
    RunsIn(project): RunsIn,
    ApiJson(body): ApiJson<NewJobBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let status = body.status.unwrap_or(JobStatus::Running);
    validate(&body, status)?;
    let now = db::now_ms();
    let spec = NewJob {
        name: body.name,
        status: Some(status),
        command: body.command,
        params: body.params,
        tags: body.tags.into_iter().collect(),
        gpus: body.gpus,
        created_by: Some(caller.user.id),
        created_token: caller.job_token(),
        created_ms: Some(now),
        started_ms: (status == JobStatus::Running).then_some(now),
        ..NewJob::default()
    };
    let mut tx = state.db.begin().await?;
    let job = db::jobs::create(&mut tx, project.id, &spec).await?;
    tx.commit().await?;
    let url = format!("/u/{}/p/{}/j/{}", project.owner, project.name, job.number);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "number": job.number, "uid": job.uid, "url": url })),
    ))
}

fn validate(body: &NewJobBody, status: JobStatus) -> Result<(), ApiError> {
    let name_len = body.name.chars().count();
    if name_len == 0 || name_len > MAX_NAME {
        return Err(ApiError::invalid(
            "name",
            format!("a job name has 1 to {MAX_NAME} characters"),
        ));
    }
    if !(0..=1024).contains(&body.gpus) {
        return Err(ApiError::invalid("gpus", "gpus must be between 0 and 1024"));
    }
    if !matches!(status, JobStatus::Running | JobStatus::Queued) {
        return Err(ApiError::invalid(
            "status",
            "a new job is running or queued",
        ));
    }
    for (key, value) in &body.tags {
        check_length("a tag key", key, MAX_KEY, false)
            .and_then(|()| check_length("a tag value", value, MAX_TAG_VALUE, true))
            .map_err(|m| ApiError::invalid(format!("tags.{}", short(key)), m))?;
    }
    for (key, value) in &body.params {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        check_length("a parameter key", key, MAX_KEY, false)
            .and_then(|()| check_length("a parameter value", &text, MAX_PARAM_VALUE, true))
            .map_err(|m| ApiError::invalid(format!("params.{}", short(key)), m))?;
    }
    Ok(())
}

/// A key as an error's field names it: cut to the key limit, so a huge key is not echoed.
fn short(key: &str) -> String {
    key.chars().take(MAX_KEY).collect()
}

/// The job `uid` as the API shows it: attributes, parameters, tags, metric summaries and the
/// names of its spec's environment variables (their values are write-only).
pub async fn show(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
) -> Result<Json<Value>, ApiError> {
    describe(&state, job).await
}

/// The job `job` (number or global id) of project `owner/project`, as [`show`] gives it.
pub async fn show_in_project(
    State(state): State<AppState>,
    ReadProject(project): ReadProject,
    Path((_, _, job)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let job = db::jobs::find_in_project(&state.db, project.id, &job)
        .await?
        .ok_or(AppError::NotFound)?;
    describe(&state, job).await
}

async fn describe(state: &AppState, job: db::jobs::Job) -> Result<Json<Value>, ApiError> {
    let tags: Map<String, Value> = db::jobs::tags(&state.db, job.id)
        .await?
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    let mut conn = state.db.pool().acquire().await?;
    let metrics: Vec<Value> = db::metrics::summaries(&mut conn, job.id)
        .await?
        .into_iter()
        .map(|s| json!({ "key": s.key, "count": s.count, "last": if s.count > 0 { stored_double_json(s.last) } else { Value::Null }, "last_step": s.last_step,
                         "min": s.min, "max": s.max }))
        .collect();
    let status = JobStatus::from_code(job.status).map_or("unknown", JobStatus::as_str);
    let params: Value = serde_json::from_str(&job.params).unwrap_or_else(|_| json!({}));
    let env: Map<String, Value> = db::queue::env_names(&state.db, job.id)
        .await?
        .into_iter()
        .map(|name| (name, HIDDEN_VALUE.into()))
        .collect();
    Ok(Json(json!({
        "uid": job.uid, "number": job.number, "project": job.project, "name": job.name, "status": status,
        "command": job.command, "params": params, "tags": tags, "gpus": job.gpus, "cost_usd": job.cost_usd,
        "created_ms": job.created_ms, "started_ms": job.started_ms, "finished_ms": job.finished_ms,
        "duration_ms": job.duration_ms, "metrics": metrics, "env": env,
    })))
}

/// Body of `POST /api/v1/jobs/{uid}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: JobStatus,
}

/// Moves the job to a new status, recording start and end times. A job millrace runs takes
/// its status from its runner: it may only be ended here (see `JobStatus::client_may_set`).
pub async fn set_status(
    State(state): State<AppState>,
    WriteJob(job): WriteJob,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let current = JobStatus::from_code(job.status).unwrap_or(JobStatus::Lost);
    if !current.client_may_set(body.status, job.run_here != 0) {
        return Err(AppError::Conflict(format!(
            "job #{} is run by millrace and is {}: its runner reports its status; \
             cancel or rerun it instead",
            job.number,
            current.as_str()
        ))
        .into());
    }
    let mut tx = state.db.begin().await?;
    db::jobs::set_status(&mut tx, job.id, body.status, db::now_ms()).await?;
    let payload = json!({ "status": body.status.as_str() });
    events::append(
        &mut tx,
        "job.status",
        Some(job.project_id),
        Some(job.id),
        &payload,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "uid": job.uid, "status": body.status.as_str() }),
    ))
}
