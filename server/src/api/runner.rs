//! The runner protocol under `/api/v1/runner`: register, lease, heartbeat, output, finish,
//! artifacts. Every call carries a runner token (`Authorization: Bearer ...`), not a user's.

use super::error::{ApiError, ApiJson, ApiQuery};
use super::runs::internal;
use super::upload;
use crate::files;
use crate::monitoring::Ingested;
use crate::spec::{Plan, PlanInput};
use app::db::metrics::Point;
use app::db::queue::{self, Heartbeat, OutputError, OutputPoint};
use app::db::runners::{self, Registration, Runner};
use app::error::AppError;
use app::model::{model_words, Gpu, JobStatus, Name};
use app::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The id of the runner token a request carries.
#[derive(Clone, Copy, Debug)]
pub struct RunnerToken(pub i64);

impl FromRequestParts<AppState> for RunnerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let token = match secret {
            Some(secret) => {
                runners::token_for_hash(&state.db, &app::auth::hash_secret(secret.trim())).await?
            }
            None => None,
        };
        token.map(Self).ok_or_else(|| {
            ApiError::saying(
                AppError::Unauthorized,
                "the runner token is missing, unknown or revoked",
            )
        })
    }
}

/// Body of `register`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    name: String,
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    gpus: Vec<String>,
    #[serde(default)]
    gpu_models: Vec<Gpu>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default = "one")]
    max_jobs: i64,
}

fn one() -> i64 {
    1
}

/// Registers (or re-registers) a runner; answers its id and the lease timing to keep, or 409
/// when another runner token holds the name.
pub async fn register(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Json<Value>, ApiError> {
    Name::parse(&body.name, Name::MAX_PROJECT)
        .map_err(|e| ApiError::invalid("name", e.to_string()))?;
    for (i, label) in body.labels.iter().enumerate() {
        Name::parse(label, Name::MAX_PROJECT)
            .map_err(|e| ApiError::invalid(format!("labels[{i}]"), e.to_string()))?;
    }
    if body.gpus.len() > 64 || body.gpus.iter().any(|g| g.is_empty() || g.contains(',')) {
        return Err(ApiError::invalid(
            "gpus",
            "at most 64 GPU ids, none empty or with ','",
        ));
    }
    check_gpu_models(&body.gpu_models, &body.gpus)?;
    if !(1..=256).contains(&body.max_jobs) {
        return Err(ApiError::invalid("max_jobs", "max_jobs is 1 to 256"));
    }
    // A pool machine's token registers that machine's runner alone, with the pool's labels.
    let machine = app::db::pools::of_token(&state.db, token).await?;
    let mut labels = body.labels;
    if let Some((machine, pool)) = &machine {
        if body.name != machine.name {
            return Err(ApiError::invalid(
                "name",
                format!(
                    "this token is machine {}'s of pool {}: start its runner with --name {}",
                    machine.name, pool.name, machine.name
                ),
            ));
        }
        for label in &pool.settings.labels {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
    }
    let registration = Registration {
        name: body.name,
        hostname: body.hostname,
        gpus: body.gpus,
        gpu_models: body.gpu_models,
        labels,
        max_jobs: body.max_jobs,
    };
    let runner = runners::register(&state.db, token, &registration)
        .await?
        .ok_or_else(|| {
            let message = format!(
                "the runner name '{}' belongs to a runner of another runner token; start this \
                 runner with another --name, or revoke that token first",
                registration.name
            );
            ApiError {
                field: Some("name".into()),
                ..ApiError::from(AppError::Conflict(message))
            }
        })?;
    if let Some((machine, _)) = machine {
        app::db::pools::attach(&state.db, machine.id, runner.id).await?;
    }
    let lease_ms = state.runs.lease_ms;
    Ok(Json(json!({ "runner_id": runner.id, "lease_ms": lease_ms,
                    "heartbeat_ms": heartbeat_ms(lease_ms) })))
}

/// What a runner says its GPUs are must describe GPUs it has, once each, in a line of text the
/// runners page can show.
fn check_gpu_models(models: &[Gpu], ids: &[String]) -> Result<(), ApiError> {
    for (i, gpu) in models.iter().enumerate() {
        let fine = |text: &str| text.len() <= Gpu::MAX_TEXT && !text.chars().any(char::is_control);
        let problem = if !ids.contains(&gpu.id) {
            Some(format!("GPU '{}' is not one of gpus", gpu.id))
        } else if models[..i].iter().any(|other| other.id == gpu.id) {
            Some(format!("GPU '{}' is described twice", gpu.id))
        } else if !fine(&gpu.name) || !fine(&gpu.uuid) {
            Some(format!(
                "the name and uuid of GPU '{}' are at most {} bytes of text",
                gpu.id,
                Gpu::MAX_TEXT
            ))
        } else if model_words(&gpu.name).split(' ').count() > Gpu::MAX_NAME_WORDS {
            Some(format!(
                "the name of GPU '{}' has at most {} words",
                gpu.id,
                Gpu::MAX_NAME_WORDS
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ApiError::invalid(format!("gpu_models[{i}]"), problem));
        }
    }
    Ok(())
}

/// How often runners heartbeat: four times per lease, so one lost heartbeat loses no job, and
/// at least every 2 s, because a cancel reaches a running job at its runner's next heartbeat.
pub fn heartbeat_ms(lease_ms: i64) -> i64 {
    (lease_ms / 4).clamp(100, 2_000)
}

async fn runner(state: &AppState, token: i64, id: i64) -> Result<Runner, ApiError> {
    runners::find(&state.db, token, id).await?.ok_or_else(|| {
        ApiError::invalid(
            "runner_id",
            "no runner with this id registered with this token; register again",
        )
    })
}

/// How often a waiting lease looks at the queue without being woken.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// Body of `lease`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseBody {
    runner_id: i64,
    #[serde(default)]
    free_gpus: Vec<String>,
    /// Wait up to this long (at most 30 s) for a job if none fits now.
    #[serde(default)]
    wait_ms: u64,
}

/// Leases the oldest queued job that fits the runner's free GPUs and labels: 200 with the job,
/// or 204 when none arrived within `wait_ms`.
pub async fn lease(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    ApiJson(body): ApiJson<LeaseBody>,
) -> Result<Response, ApiError> {
    let runner = runner(&state, token, body.runner_id).await?;
    let owned = runner.gpu_list();
    if let Some(bad) = body.free_gpus.iter().find(|g| !owned.contains(g)) {
        return Err(ApiError::invalid(
            "free_gpus",
            format!("GPU '{bad}' is not one this runner registered"),
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(body.wait_ms.min(30_000));
    loop {
        // Subscribe before looking, so a job queued between the look and the wait wakes us.
        let queued = state.runs.queued.notified();
        if let Some(lease) =
            queue::lease(&state.db, &runner, &body.free_gpus, state.runs.lease_ms).await?
        {
            let plan: Value = serde_json::from_str(&lease.spec).unwrap_or(Value::Null);
            let gpus: Vec<&str> = lease.gpu_ids.split(',').filter(|g| !g.is_empty()).collect();
            return Ok(Json(json!({
                "uid": lease.uid, "number": lease.number, "project": lease.project,
                "name": lease.name, "plan": plan, "gpus": gpus, "attempt": lease.attempt,
                "log_lines": lease.log_lines, "token": lease.token,
            }))
            .into_response());
        }
        // The event pump wakes us for jobs queued on any replica; looking now and then as well
        // covers a wake-up lost while its PostgreSQL listener reconnected.
        let wake = deadline.min(tokio::time::Instant::now() + LOOK_AGAIN);
        if tokio::time::timeout_at(wake, queued).await.is_err() && wake >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
}

/// Body of `heartbeat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    runner_id: i64,
    #[serde(default)]
    jobs: Vec<String>,
}

/// Renews the leases of the runner's jobs and says, per job, `continue`, `cancel` or `gone`.
pub async fn heartbeat(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    ApiJson(body): ApiJson<HeartbeatBody>,
) -> Result<Json<Value>, ApiError> {
    let runner = runner(&state, token, body.runner_id).await?;
    let answers = queue::heartbeat(&state.db, runner.id, &body.jobs, state.runs.lease_ms).await?;
    let jobs: Map<String, Value> = answers
        .into_iter()
        .map(|(uid, answer)| {
            let word = match answer {
                Heartbeat::Continue => "continue",
                Heartbeat::Cancel => "cancel",
                Heartbeat::Gone => "gone",
            };
            (uid, word.into())
        })
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

/// Body of the per-job calls that only name the runner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerOnly {
    runner_id: i64,
}

/// The job's process started: it is `running` now.
pub async fn started(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<RunnerOnly>,
) -> Result<Json<Value>, ApiError> {
    let runner = runner(&state, token, body.runner_id).await?;
    if !queue::started(&state.db, runner.id, &uid).await? {
        return Err(not_leased());
    }
    Ok(Json(json!({ "uid": uid, "status": "running" })))
}

fn not_leased() -> ApiError {
    AppError::Conflict("this runner does not hold the job's lease".into()).into()
}

/// Body of `output`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputBody {
    runner_id: i64,
    /// Index of the first line, counted over the job's whole output.
    from: i64,
    lines: Vec<OutputLine>,
    #[serde(default)]
    points: Vec<PointBody>,
}

/// A line of output.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputLine {
    stream: String,
    text: String,
}

/// A metric value the runner picked out of a line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointBody {
    line: i64,
    key: String,
    step: i64,
    value: f64,
    wall_ms: i64,
}

/// Most lines per output call.
pub const MAX_OUTPUT_LINES: usize = 10_000;

/// Stores a batch of output lines and their metric points; resending a batch is harmless.
pub async fn output(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<OutputBody>,
) -> Result<(Extension<Ingested>, Json<Value>), ApiError> {
    let runner = runner(&state, token, body.runner_id).await?;
    if body.lines.len() > MAX_OUTPUT_LINES {
        return Err(ApiError::invalid(
            "lines",
            format!("at most {MAX_OUTPUT_LINES} lines per call"),
        ));
    }
    if let Some(i) = body
        .lines
        .iter()
        .position(|l| !matches!(l.stream.as_str(), "stdout" | "stderr"))
    {
        return Err(ApiError::invalid(
            format!("lines[{i}].stream"),
            "stream is stdout or stderr",
        ));
    }
    let end = body.from + body.lines.len() as i64;
    if let Some(i) = body
        .points
        .iter()
        .position(|p| p.line < body.from || p.line >= end || p.key.is_empty() || p.key.len() > 250)
    {
        return Err(ApiError::invalid(
            format!("points[{i}]"),
            "a point names a line of this batch and a key of 1 to 250 bytes",
        ));
    }
    let lines: Vec<(&str, &str)> = body
        .lines
        .iter()
        .map(|l| (l.stream.as_str(), l.text.as_str()))
        .collect();
    let points: Vec<OutputPoint> = body
        .points
        .into_iter()
        .map(|p| OutputPoint {
            line: p.line,
            key: p.key,
            point: Point {
                step: p.step,
                wall_ms: p.wall_ms,
                value: p.value,
            },
        })
        .collect();
    match queue::append_output(&state.db, runner.id, &uid, body.from, &lines, &points).await {
        Ok(stored) => Ok((
            Extension(Ingested(stored.new_points)),
            Json(json!({ "stored": stored.lines })),
        )),
        Err(OutputError::NotLeased) => Err(not_leased()),
        Err(gap @ OutputError::Gap { .. }) => Err(ApiError::invalid("from", gap.to_string())),
        Err(OutputError::Db(e)) => Err(e.into()),
    }
}

/// Body of `finish`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    runner_id: i64,
    status: JobStatus,
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    error: Option<String>,
}

/// Ends the job with the runner's outcome and prices its GPU time.
pub async fn finish(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Json<Value>, ApiError> {
    let runner = runner(&state, token, body.runner_id).await?;
    if !matches!(
        body.status,
        JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
    ) {
        return Err(ApiError::invalid(
            "status",
            "a run ends succeeded, failed or cancelled",
        ));
    }
    let error = body.error.map(|e| e.chars().take(2000).collect());
    let outcome = queue::Outcome {
        status: body.status,
        exit_code: body.exit_code,
        error,
    };
    let pool_price = app::db::pools::runner_price(&state.db, runner.id).await?;
    let price = pool_price.or_else(|| state.runs.prices.for_labels(&runner.label_list()));
    if !queue::finish(&state.db, runner.id, &uid, &outcome, price).await? {
        return Err(not_leased());
    }
    Ok(Json(json!({ "uid": uid, "status": body.status.as_str() })))
}

/// Query of an artifact upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactQuery {
    runner_id: i64,
}

/// Stores one artifact file of a job the runner holds, streamed to disk and synced before
/// the 201 (see [`super::upload`]).
pub async fn upload_artifact(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path((uid, path)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ArtifactQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let runner = runner(&state, token, query.runner_id).await?;
    let beat = queue::heartbeat(
        &state.db,
        runner.id,
        std::slice::from_ref(&uid),
        state.runs.lease_ms,
    )
    .await?;
    if beat.first().is_none_or(|(_, h)| *h == Heartbeat::Gone) {
        return Err(not_leased());
    }
    let file = state.runs.files.artifact(&uid, &path).ok_or_else(|| {
        ApiError::invalid("path", "an artifact path stays inside the job's directory")
    })?;
    let bytes = upload::keep_artifact(&state, &uid, &file, &headers, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "path": path, "bytes": bytes })),
    ))
}

/// The files of a leased job's inputs (a pipeline step's): for each input folder, the
/// artifacts of the earlier job that fills it, which the runner fetches before the command.
pub async fn inputs(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path(uid): Path<String>,
    ApiQuery(query): ApiQuery<ArtifactQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = &state.runs.files;
    let mut listed = Vec::new();
    for (index, input) in leased_inputs(&state, token, query.runner_id, &uid)
        .await?
        .into_iter()
        .enumerate()
    {
        let files = store
            .files_under(&store.artifacts(&input.job))
            .await
            .map_err(internal("listing an input's artifacts"))?;
        let files: Vec<Value> = files
            .into_iter()
            .map(|(path, bytes)| json!({ "path": path, "bytes": bytes }))
            .collect();
        listed.push(json!({ "index": index, "dir": input.dir, "job": input.job, "files": files }));
    }
    Ok(Json(json!({ "inputs": listed })))
}

/// One file of input `index` of a leased job, with ranges.
pub async fn input_file(
    State(state): State<AppState>,
    RunnerToken(token): RunnerToken,
    Path((uid, index, path)): Path<(String, usize, String)>,
    ApiQuery(query): ApiQuery<ArtifactQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let inputs = leased_inputs(&state, token, query.runner_id, &uid).await?;
    let input = inputs.get(index).ok_or(AppError::NotFound)?;
    let store = &state.runs.files;
    let key = store
        .artifact(&input.job, &path)
        .ok_or(AppError::NotFound)?;
    let sent = crate::download::file(store, &key, &headers).await?;
    sent.ok_or_else(|| AppError::NotFound.into())
}

/// The inputs of job `uid`, which this runner must hold the lease of. Only jobs of the job's
/// own project count: plans are data, and no job reads another project's files through its
/// runner.
async fn leased_inputs(
    state: &AppState,
    token: i64,
    runner_id: i64,
    uid: &str,
) -> Result<Vec<PlanInput>, ApiError> {
    let runner = runner(state, token, runner_id).await?;
    let uids = [uid.to_owned()];
    let beat = queue::heartbeat(&state.db, runner.id, &uids, state.runs.lease_ms).await?;
    if beat.first().is_none_or(|(_, h)| *h == Heartbeat::Gone) {
        return Err(not_leased());
    }
    let Some((project, plan)) = queue::plan(&state.db, uid).await? else {
        return Err(not_leased());
    };
    let plan: Plan = serde_json::from_str(&plan).map_err(internal("reading a job's plan"))?;
    let mut inputs = Vec::with_capacity(plan.inputs.len());
    for input in plan.inputs {
        if !queue::is_in_project(&state.db, &input.job, project).await? {
            return Err(AppError::Forbidden(
                "an input of this job is not a job of its project".into(),
            )
            .into());
        }
        inputs.push(input);
    }
    Ok(inputs)
}

/// A code snapshot, for the runner that unpacks it.
pub async fn snapshot(
    State(state): State<AppState>,
    _token: RunnerToken,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    if !files::is_sha256(&sha) {
        return Err(AppError::NotFound.into());
    }
    let store = &state.runs.files;
    let key = store.snapshot(&sha);
    let read = match store.read(&key, None).await {
        Ok(read) => read,
        Err(files::Error::NotFound { .. }) => return Err(AppError::NotFound.into()),
        Err(error) => return Err(internal("reading a snapshot")(error)),
    };
    let body = Body::from_stream(read);
    Ok(([(header::CONTENT_TYPE, "application/gzip")], body).into_response())
}
