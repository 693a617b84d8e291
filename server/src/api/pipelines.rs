//! `/api/v1` pipelines: apply a spec (a new run, or `unchanged`), list a project's runs, show
//! one with its steps, cancel one, rerun one from a step.

use super::access::{ReadPipeline, ReadProject, Signed, WritePipeline, WriteProject};
use super::error::{ApiError, ApiJson, ApiQuery};
use super::runs::check_snapshot;
use crate::scheduler::pipelines::{self as driver, downstream};
use crate::spec::pipeline::{PipelineRequest, PipelineSpec};
use app::auth::Caller;
use app::db::pipelines::{self, NewRun, Run, RunState, StepRow};
use app::db::projects::Project;
use app::error::AppError;
use app::model::{JobStatus, HIDDEN_VALUE};
use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Most runs one list answers.
const LIST_LIMIT: i64 = 200;

/// Query of `create`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    /// Say what would happen without starting anything.
    #[serde(default)]
    dry_run: bool,
}

/// Starts a run of the pipeline a spec describes, unless its newest run is of the same spec
/// and code: `created` (201), `changed` (201, naming the previous run and the steps that will
/// be cached) or `unchanged` (200).
pub async fn create(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteProject(project): WriteProject,
    ApiQuery(query): ApiQuery<CreateQuery>,
    ApiJson(request): ApiJson<PipelineRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check(&state, &caller, &project, &request).await?;
    let hash = request.hash();
    let previous = pipelines::latest_named(&state.db, project.id, &request.spec.pipeline).await?;
    if let Some(previous) = previous.as_ref().filter(|p| p.spec_hash == hash) {
        let body = json!({ "action": "unchanged", "id": previous.id, "state": previous.state });
        return Ok((StatusCode::OK, Json(body)));
    }
    let action = if previous.is_some() {
        "changed"
    } else {
        "created"
    };
    let cached = match &previous {
        Some(run) => will_be_cached(&request, &pipelines::steps(&state.db, run.id).await?),
        None => Vec::new(),
    };
    let mut body = json!({
        "action": action, "previous": previous.as_ref().map(|p| p.id), "cached": cached,
        "jobs": request.spec.steps.keys().map(|s| request.spec.fan_out(s).len()).sum::<usize>(),
    });
    if query.dry_run {
        body["dry_run"] = true.into();
        return Ok((StatusCode::OK, Json(body)));
    }
    let id = insert(&state, caller.user.id, &project, &request, None).await?;
    body["id"] = id.into();
    Ok((StatusCode::CREATED, Json(body)))
}

/// The checks the server runs before it starts anything: the spec, its project and its code.
async fn check(
    state: &AppState,
    caller: &Caller,
    project: &Project,
    request: &PipelineRequest,
) -> Result<(), ApiError> {
    let spec = &request.spec;
    spec.check().map_err(|(path, message)| {
        ApiError::invalid(format!("spec.{}", path.join(".")), message)
    })?;
    let path_project = format!("{}/{}", project.owner, project.name);
    if spec.project != path_project {
        return Err(ApiError::invalid(
            "spec.project",
            format!("the spec is for {}, not {path_project}", spec.project),
        ));
    }
    for (name, step) in &spec.steps {
        if let Some(code) = &step.code {
            if !request.snapshots.contains_key(code) {
                return Err(ApiError::invalid(
                    format!("spec.steps.{name}.code"),
                    format!("no snapshot was uploaded for the code directory '{code}'"),
                ));
            }
        }
    }
    for (code, sha) in &request.snapshots {
        check_snapshot(
            state,
            caller.user.id,
            project.id,
            &format!("snapshots.{code}"),
            sha,
        )
        .await?;
    }
    Ok(())
}

/// The steps a new run of `request` will reuse from the previous run `old`: those written the
/// same whose instances all ended well there, and whose needs are reused too (a changed step
/// makes everything after it run again).
fn will_be_cached(request: &PipelineRequest, old: &[StepRow]) -> Vec<String> {
    let spec = &request.spec;
    let mut cached: BTreeSet<&str> = BTreeSet::new();
    for name in spec.order() {
        let step = &spec.steps[name];
        let definition = request.definition_hash(name);
        let mut instances = old.iter().filter(|r| r.step == name).peekable();
        let same = instances.peek().is_some()
            && instances.all(|r| r.definition == definition && r.state().is_done());
        if step.cache && same && step.needs.iter().all(|n| cached.contains(n.as_str())) {
            cached.insert(name);
        }
    }
    cached.into_iter().map(str::to_owned).collect()
}

/// Stores a running run of the checked `request` as `user`'s, its steps waiting; its id.
async fn insert(
    state: &AppState,
    user: i64,
    project: &Project,
    request: &PipelineRequest,
    rerun: Option<(i64, &str)>,
) -> Result<i64, ApiError> {
    let spec = &request.spec;
    let new = NewRun {
        project: project.id,
        name: spec.pipeline.clone(),
        spec: serde_json::to_string(spec).expect("a spec serialises"),
        snapshots: serde_json::to_string(&request.snapshots).expect("snapshots serialise"),
        spec_hash: request.hash(),
        rerun_of: rerun.map(|(id, _)| id),
        from_step: rerun.map(|(_, step)| step.to_owned()),
        created_by: Some(user),
    };
    let mut tx = state.db.begin().await?;
    let id = pipelines::create(&mut tx, &new, &request.new_steps()).await?;
    tx.commit().await?;
    Ok(id)
}

/// The runs of a project, newest first, without their steps.
pub async fn list(
    State(state): State<AppState>,
    ReadProject(project): ReadProject,
) -> Result<Json<Value>, ApiError> {
    let runs = pipelines::list_for_project(&state.db, project.id, LIST_LIMIT).await?;
    let runs: Vec<Value> = runs.iter().map(summary).collect();
    Ok(Json(json!({ "runs": runs })))
}

/// Run `id` with its spec (`env` values hidden), each step's needs and depth in the graph, and
/// each step instance with its job.
pub async fn show(
    State(state): State<AppState>,
    ReadPipeline(run, _): ReadPipeline,
) -> Result<Json<Value>, ApiError> {
    let rows = pipelines::steps(&state.db, run.id).await?;
    let mut body = summary(&run);
    let spec: Option<PipelineSpec> = serde_json::from_str(&run.spec).ok();
    if let Some(spec) = &spec {
        let depths = spec.depths();
        let graph: Vec<Value> = spec
            .steps
            .iter()
            .map(|(name, step)| {
                json!({
                    "name": name, "needs": step.needs, "depth": depths.get(name.as_str()),
                    "kind": if step.sweep.is_some() { "sweep" } else { "job" },
                    "for_each": !step.for_each.is_empty(), "cache": step.cache,
                })
            })
            .collect();
        body["graph"] = graph.into();
    }
    body["spec"] = shown_spec(&run.spec);
    body["steps"] = rows.iter().map(step).collect();
    Ok(Json(body))
}

/// The stored spec as people see it: every step's `env` keeps its names, each value hidden.
fn shown_spec(stored: &str) -> Value {
    let mut spec: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
    if let Some(steps) = spec.get_mut("steps").and_then(Value::as_object_mut) {
        for step in steps.values_mut() {
            if let Some(env) = step.get_mut("env").and_then(Value::as_object_mut) {
                for value in env.values_mut() {
                    *value = HIDDEN_VALUE.into();
                }
            }
        }
    }
    spec
}

/// Stops a running run: nothing more starts, and its running jobs and sweeps are cancelled.
pub async fn cancel(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WritePipeline(run, _): WritePipeline,
) -> Result<Json<Value>, ApiError> {
    let reason = format!("cancelled by {}", caller.user.name);
    let was_running = run.state() == RunState::Running;
    driver::end(&state.db, run.id, RunState::Cancelled, &reason).await?;
    let now = pipelines::find(&state.db, run.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let result = if was_running && now.state() == RunState::Cancelled {
        "cancelled"
    } else {
        "ended"
    };
    Ok(Json(
        json!({ "id": run.id, "result": result, "state": now.state }),
    ))
}

/// Body of `rerun`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerunBody {
    /// The step to run again, with every step after it; the others are reused.
    from: String,
}

/// Starts a new run of run `id`'s spec that reuses the old run's steps upstream of `from` and
/// runs `from` and everything that needs it again (`millrace pipeline rerun RUN --from STEP`).
pub async fn rerun(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WritePipeline(old, project): WritePipeline,
    ApiJson(body): ApiJson<RerunBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if old.state() == RunState::Running {
        return Err(AppError::Conflict(format!(
            "run {} is still running; cancel it or wait for it to end",
            old.id
        ))
        .into());
    }
    let request = PipelineRequest {
        spec: serde_json::from_str(&old.spec).map_err(|_| AppError::Internal)?,
        snapshots: serde_json::from_str(&old.snapshots).map_err(|_| AppError::Internal)?,
    };
    if !request.spec.steps.contains_key(&body.from) {
        let names: Vec<&str> = request.spec.steps.keys().map(String::as_str).collect();
        return Err(ApiError::invalid(
            "from",
            format!(
                "run {} has no step `{}` (steps: {})",
                old.id,
                body.from,
                names.join(", ")
            ),
        ));
    }
    let again = downstream(&request.spec, &body.from);
    let reused: Vec<&str> = request
        .spec
        .order()
        .into_iter()
        .filter(|s| !again.contains(s))
        .collect();
    let id = insert(
        &state,
        caller.user.id,
        &project,
        &request,
        Some((old.id, &body.from)),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "rerun_of": old.id, "from": body.from, "reused": reused })),
    ))
}

fn summary(run: &Run) -> Value {
    json!({
        "id": run.id, "name": run.name, "project": run.project, "state": run.state,
        "reason": run.reason, "step_count": run.step_count, "ended": run.ended_count,
        "cost_usd": run.cost_usd, "rerun_of": run.rerun_of, "from_step": run.from_step,
        "created_ms": run.created_ms, "finished_ms": run.finished_ms,
    })
}

fn step(row: &StepRow) -> Value {
    let job = row.job_uid.as_ref().map(|uid| {
        let status = row
            .job_status
            .and_then(JobStatus::from_code)
            .map_or("unknown", JobStatus::as_str);
        json!({
            "uid": uid, "number": row.job_number, "status": status,
            "duration_ms": row.duration_ms, "cost_usd": row.cost_usd,
        })
    });
    json!({
        "step": row.step, "instance": row.instance, "state": row.state, "reason": row.reason,
        "job": job, "sweep": row.sweep_id, "started_ms": row.started_ms,
        "finished_ms": row.finished_ms,
    })
}
