//! `/api/v1` for jobs that millrace runs: apply a spec, cancel, rerun, follow logs, snapshots
//! and artifacts.

use super::access::{ControlJob, ReadJob, Signed, WriteJob, WriteProject};
use super::error::{ApiError, ApiJson, ApiQuery};
use super::upload;
use crate::spec::JobRequest;
use crate::{download, files};
use app::auth::access::may_write;
use app::db::{self, queue, storage};
use app::error::AppError;
use app::model::{JobStatus, LogCursor};
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Query of `apply`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyQuery {
    /// Say what would happen without queueing anything.
    #[serde(default)]
    dry_run: bool,
    /// Queue a new job even if the newest job of this spec has the same content.
    #[serde(default)]
    always: bool,
}

/// Queues the job a spec describes, unless the newest job of that spec name already has the
/// same content: `created` (201), `changed` (201, names the previous job) or `unchanged` (200).
pub async fn apply(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteProject(project): WriteProject,
    ApiQuery(query): ApiQuery<ApplyQuery>,
    ApiJson(request): ApiJson<JobRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = caller.user;
    request
        .check()
        .map_err(|(path, message)| ApiError::invalid(path.join("."), message))?;
    if let Some(sha) = request.plan.snapshot.as_ref().filter(|_| !query.dry_run) {
        check_snapshot(&state, user.id, project.id, "plan.snapshot", sha).await?;
    }
    let hash = request.hash();
    let base = format!("/u/{}/p/{}/j/", project.owner, project.name);
    let previous = queue::latest_for_spec(&state.db, project.id, &request.name).await?;
    if let Some(previous) = previous
        .as_ref()
        .filter(|p| p.spec_hash == hash && !query.always)
    {
        let status = JobStatus::from_code(previous.status).map_or("unknown", JobStatus::as_str);
        return Ok((
            StatusCode::OK,
            Json(
                json!({ "action": "unchanged", "uid": previous.uid, "number": previous.number,
                         "status": status, "url": format!("{base}{}", previous.number) }),
            ),
        ));
    }
    let action = if previous.is_some() {
        "changed"
    } else {
        "created"
    };
    let previous_number = previous.map(|p| p.number);
    if query.dry_run {
        return Ok((
            StatusCode::OK,
            Json(json!({ "action": action, "dry_run": true, "previous": previous_number })),
        ));
    }
    let job = queue_job(&state, project.id, user.id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "action": action, "uid": job.uid, "number": job.number,
                     "previous": previous_number, "status": "queued",
                     "url": format!("{base}{}", job.number) }),
        ),
    ))
}

async fn queue_job(
    state: &AppState,
    project: i64,
    user: i64,
    request: JobRequest,
) -> Result<db::jobs::JobRef, ApiError> {
    let mut tx = state.db.begin().await?;
    let job = db::jobs::create(&mut tx, project, &request.new_job(user)).await?;
    tx.commit().await?;
    state.runs.queued.notify_waiters();
    Ok(job)
}

/// Refuses a snapshot hash (named by request field `field`) that `user` may not run in
/// `project`: one never uploaded, or one that someone else uploaded and this project does not
/// already use. A snapshot is stored once for all, so without the second rule anyone who learnt
/// a hash could run (and so read) another user's code.
pub async fn check_snapshot(
    state: &AppState,
    user: i64,
    project: i64,
    field: &str,
    sha: &str,
) -> Result<(), ApiError> {
    let missing = || ApiError::invalid(field, format!("no snapshot {sha} was uploaded"));
    if !files::is_sha256(sha) {
        return Err(missing());
    }
    let store = &state.runs.files;
    let kept = store
        .head(&store.snapshot(sha))
        .await
        .map_err(internal("looking for a snapshot"))?;
    if kept.is_none() {
        return Err(missing());
    }
    if storage::uploaded_by(&state.db, user, sha).await?
        || storage::used_in_project(&state.db, project, sha).await?
    {
        return Ok(());
    }
    Err(missing())
}

/// Stops a job: a queued one at once, a running one through its runner within a heartbeat.
pub async fn cancel(
    State(state): State<AppState>,
    ControlJob(job): ControlJob,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.db.begin().await?;
    let outcome = queue::cancel(&mut tx, job.id).await?;
    tx.commit().await?;
    let (result, message) = match outcome {
        queue::Cancel::Dequeued => ("cancelled", "it had not started".to_owned()),
        queue::Cancel::Requested => ("stopping", "its runner stops it within seconds".into()),
        queue::Cancel::AlreadyEnded(status) => ("ended", format!("it had already {}", status.as_str())),
        queue::Cancel::NotRun => {
            return Err(ApiError::invalid(
                "uid",
                "this job reports from elsewhere (tracking API); millrace did not start it and cannot stop it",
            ))
        }
    };
    Ok(Json(
        json!({ "uid": job.uid, "result": result, "message": message }),
    ))
}

/// Queues a new job with the spec of an earlier one.
pub async fn rerun(
    State(state): State<AppState>,
    Signed(caller): Signed,
    ControlJob(job): ControlJob,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut tx = state.db.begin().await?;
    let Some(new) = queue::rerun(&mut tx, job.id, caller.user.id).await? else {
        return Err(ApiError::invalid(
            "uid",
            "only jobs millrace ran can be rerun",
        ));
    };
    tx.commit().await?;
    state.runs.queued.notify_waiters();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "uid": new.uid, "number": new.number, "rerun_of": job.number })),
    ))
}

/// Query of a log read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Chunks after this position.
    #[serde(default)]
    after: i64,
    /// Bytes of the first of those chunks already read (the `offset` of the previous answer).
    #[serde(default)]
    offset: i64,
    /// Wait up to this long (at most 30 s) for new output if there is none yet.
    #[serde(default)]
    wait_ms: u64,
}

/// Longest a log read waits for output.
const MAX_LOG_WAIT: Duration = Duration::from_secs(30);

/// Most chunks one log read returns.
const LOG_CHUNKS: i64 = 1000;

/// A job's output from a position, at most 1,000 chunks and 1 MiB of whole lines, waiting for
/// more if asked: `millrace logs -f` follows a job with a chain of these, each from the `next`
/// and `offset` of the one before; `more` says output is waiting already.
pub async fn logs(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let deadline = Instant::now() + Duration::from_millis(query.wait_ms).min(MAX_LOG_WAIT);
    let from = LogCursor {
        after: query.after,
        offset: query.offset,
    };
    loop {
        let mut conn = state.db.pool().acquire().await?;
        let read =
            db::logs::read(&mut conn, job.id, from, LOG_CHUNKS, db::logs::READ_BYTES).await?;
        let status = db::jobs::status(&state.db, job.id)
            .await?
            .unwrap_or(JobStatus::Lost);
        if !read.chunks.is_empty() || status.is_finished() || Instant::now() >= deadline {
            let chunks: Vec<Value> = read
                .chunks
                .into_iter()
                .map(|c| json!({ "seq": c.seq, "stream": c.stream, "text": c.text }))
                .collect();
            let ending = db::queue::ending(&state.db, job.id).await?;
            return Ok(Json(
                json!({ "chunks": chunks, "next": read.next.after, "offset": read.next.offset,
                        "more": read.more, "status": status.as_str(),
                        "exit_code": ending.exit_code, "error": ending.error,
                        "runner": ending.runner }),
            ));
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stores a code snapshot (a .tar.gz) under its SHA-256, counted against the uploader's quota,
/// and answers the hash; streamed to disk and synced before the 201 (see [`super::upload`]).
/// Any caller who may write at all may upload one; it is used only by jobs they may queue.
pub async fn upload_snapshot(
    State(state): State<AppState>,
    Signed(caller): Signed,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    may_write(&caller)?;
    let user = &caller.user;
    let payer = upload::Payer {
        id: user.id,
        name: &user.name,
    };
    let kept = upload::keep_snapshot(&state, payer, &headers, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "sha256": kept.sha256, "bytes": kept.bytes })),
    ))
}

/// The artifacts a job kept: path and size of each.
pub async fn artifacts(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
) -> Result<Json<Value>, ApiError> {
    let store = &state.runs.files;
    let listed = store
        .files_under(&store.artifacts(&job.uid))
        .await
        .map_err(internal("listing artifacts"))?;
    let items: Vec<Value> = listed
        .into_iter()
        .map(|(path, bytes)| json!({ "path": path, "bytes": bytes }))
        .collect();
    Ok(Json(json!({ "artifacts": items })))
}

/// One artifact's bytes, with ranges: what `millrace artifacts get` and the Artifacts tab's
/// downloads and image previews read.
pub async fn artifact(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
    Path((_, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = &state.runs.files;
    let key = store.artifact(&job.uid, &path).ok_or(AppError::NotFound)?;
    let sent = download::file(store, &key, &headers).await?;
    sent.ok_or_else(|| AppError::NotFound.into())
}

/// All of a job's artifacts as one zip, streamed.
pub async fn zip_all(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
) -> Result<Response, ApiError> {
    let store = &state.runs.files;
    let name = format!("{}-{}", job.name, job.number);
    let zipped = download::zip(store, &store.artifacts(&job.uid), &name).await?;
    zipped.ok_or_else(|| AppError::NotFound.into())
}

/// One artifact folder (or file) of a job as a zip, streamed.
pub async fn zip_folder(
    State(state): State<AppState>,
    ReadJob(job): ReadJob,
    Path((_, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = &state.runs.files;
    let folder = store.artifact(&job.uid, &path).ok_or(AppError::NotFound)?;
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("files");
    let name = format!("{}-{}-{last}", job.name, job.number);
    let zipped = download::zip(store, &folder, &name).await?;
    zipped.ok_or_else(|| AppError::NotFound.into())
}

/// Stores one artifact file of the job, streamed to the file store within the size limit and its
/// creator's quota (see [`super::upload`]): what `millrace artifacts put` sends.
pub async fn put_artifact(
    State(state): State<AppState>,
    WriteJob(job): WriteJob,
    Path((_, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let file = state.runs.files.artifact(&job.uid, &path).ok_or_else(|| {
        ApiError::invalid("path", "an artifact path stays inside the job's directory")
    })?;
    let bytes = upload::keep_artifact(&state, &job.uid, &file, &headers, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "path": path, "bytes": bytes })),
    ))
}

/// Logs a failure of the disk or the file store and answers 500.
pub fn internal<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ApiError {
    move |error| {
        tracing::error!(%error, "{what}");
        AppError::Internal.into()
    }
}
