//! `/api/v1` sweeps: start one from a spec (or as a clone), list a project's, show one with
//! its trials and best trial, cancel one.

use super::access::{ReadProject, ReadSweep, Signed, WriteProject, WriteSweep};
use super::error::{ApiError, ApiJson, ApiQuery};
use super::runs::check_snapshot;
use crate::spec::{SweepRequest, SweepSpec};
use crate::sweep::Direction;
use app::auth::access::Act;
use app::auth::Caller;
use app::db::projects::Project;
use app::db::sweeps::{self, NewSweep, Sweep, SweepState, Trial};
use app::model::{JobStatus, HIDDEN_VALUE};
use app::state::AppState;
use app::url::encode_component;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most sweeps one list answers.
const LIST_LIMIT: i64 = 200;

/// Query of `create`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    /// Say what would happen without starting anything.
    #[serde(default)]
    dry_run: bool,
}

/// Starts the sweep a spec describes, unless the newest sweep of that name runs the same spec
/// and code: `created` (201), `changed` (201, names the previous sweep) or `unchanged` (200).
/// A clone (`cloned_from`) always starts.
pub async fn create(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteProject(project): WriteProject,
    ApiQuery(query): ApiQuery<CreateQuery>,
    ApiJson(request): ApiJson<SweepRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check(&state, &caller, &project, &request).await?;
    let hash = request.hash();
    let previous = sweeps::latest_named(&state.db, project.id, &request.spec.sweep).await?;
    if let Some(previous) = previous
        .as_ref()
        .filter(|p| p.spec_hash == hash && request.cloned_from.is_none())
    {
        return Ok((StatusCode::OK, Json(answer("unchanged", previous.id, None))));
    }
    let action = if previous.is_some() {
        "changed"
    } else {
        "created"
    };
    let previous = previous.map(|p| p.id);
    if query.dry_run {
        let mut body = answer(action, 0, previous);
        body["dry_run"] = true.into();
        body.as_object_mut().expect("an object").remove("id");
        return Ok((StatusCode::OK, Json(body)));
    }
    let id = insert(&state, caller.user.id, &project, &request).await?;
    Ok((StatusCode::CREATED, Json(answer(action, id, previous))))
}

/// Stores the checked sweep `request` of `project` as `user`'s, running; its id.
async fn insert(
    state: &AppState,
    user: i64,
    project: &Project,
    request: &SweepRequest,
) -> Result<i64, ApiError> {
    let new = NewSweep {
        project: project.id,
        name: request.spec.sweep.clone(),
        spec: serde_json::to_string(&request.spec).expect("a spec serialises"),
        spec_hash: request.hash(),
        snapshot: request.snapshot.clone(),
        // Stored as the same 64 bits, read back as u64 by the scheduler.
        seed: request.spec.seed as i64,
        cloned_from: request.cloned_from,
        created_by: Some(user),
        ..NewSweep::default()
    };
    let mut tx = state.db.begin().await?;
    let id = sweeps::create(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(id)
}

/// The web app's "run it again, wider" form: changes to the old spec, one `PATH=VALUE` a line.
#[derive(Debug, Deserialize)]
pub struct CloneForm {
    #[serde(default)]
    changes: String,
}

/// Starts a clone of sweep `id` with the form's changes and shows it. On a mistake it shows the
/// old sweep again with the error and the changes as typed, so nothing typed is lost.
pub async fn clone_form(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteSweep(old, project): WriteSweep,
    Form(form): Form<CloneForm>,
) -> Result<Redirect, ApiError> {
    let (owner, name) = old.project.split_once('/').unwrap_or_default();
    let view = |query: String| format!("/u/{owner}/p/{name}?pview=sweeps&{query}");
    let changes: Vec<String> = form
        .changes
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(
        match clone_of(&state, &caller, &project, &old, &changes).await {
            Ok(new) => Redirect::to(&view(format!("sweep={new}"))),
            Err(message) => Redirect::to(&view(format!(
                "sweep={}&cerr={}&cset={}",
                old.id,
                encode_component(&message),
                encode_component(&form.changes)
            ))),
        },
    )
}

/// Body of `clone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloneBody {
    /// Changes to the old spec, `PATH=VALUE` with VALUE in YAML (`space.lr.high=0.1`).
    #[serde(default)]
    changes: Vec<String>,
}

/// Starts a clone of sweep `id` (`millrace sweep clone`): the changes apply to the stored spec
/// on the server, so the `job.env` values no one can read back carry over unless a change sets
/// them. 201 with the new id, or 400 saying what is wrong with the changes.
pub async fn clone(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteSweep(old, project): WriteSweep,
    ApiJson(body): ApiJson<CloneBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = clone_of(&state, &caller, &project, &old, &body.changes)
        .await
        .map_err(|message| ApiError::invalid("changes", message))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": new, "cloned_from": old.id })),
    ))
}

/// Starts sweep `old` again with `changes`, learning from its trials; the new id, or what is
/// wrong with the changes.
async fn clone_of(
    state: &AppState,
    caller: &Caller,
    project: &Project,
    old: &Sweep,
    changes: &[String],
) -> Result<i64, String> {
    let spec: SweepSpec = serde_json::from_str(&old.spec)
        .map_err(|e| format!("the old sweep's spec cannot be read: {e}"))?;
    let request = SweepRequest {
        spec: spec.with_changes(changes)?,
        snapshot: old.snapshot.clone(),
        cloned_from: Some(old.id),
    };
    let said = |e: ApiError| match (e.field, e.message) {
        (_, Some(message)) => message,
        (Some(field), None) => format!("{field}: {}", e.error),
        (None, None) => e.error.to_string(),
    };
    check(state, caller, project, &request)
        .await
        .map_err(said)?;
    insert(state, caller.user.id, project, &request)
        .await
        .map_err(said)
}

fn answer(action: &str, id: i64, previous: Option<i64>) -> Value {
    json!({ "action": action, "id": id, "previous": previous })
}

/// The checks the server runs before it starts anything: the spec, its project, its code and
/// the sweep it clones.
async fn check(
    state: &AppState,
    caller: &Caller,
    project: &Project,
    request: &SweepRequest,
) -> Result<(), ApiError> {
    request.spec.check().map_err(|(path, message)| {
        ApiError::invalid(format!("spec.{}", path.join(".")), message)
    })?;
    let path_project = format!("{}/{}", project.owner, project.name);
    if request.spec.project != path_project {
        return Err(ApiError::invalid(
            "spec.project",
            format!(
                "the spec is for {}, not {path_project}",
                request.spec.project
            ),
        ));
    }
    if let Some(sha) = &request.snapshot {
        check_snapshot(state, caller.user.id, project.id, "snapshot", sha).await?;
    }
    if let Some(old) = request.cloned_from {
        if super::access::sweep(state, caller, old, Act::Read)
            .await
            .is_err()
        {
            return Err(ApiError::invalid(
                "cloned_from",
                format!("there is no sweep {old}"),
            ));
        }
    }
    Ok(())
}

/// The sweeps of a project, newest first, without their trials.
pub async fn list(
    State(state): State<AppState>,
    ReadProject(project): ReadProject,
) -> Result<Json<Value>, ApiError> {
    let listed = sweeps::list_for_project(&state.db, project.id, LIST_LIMIT).await?;
    let sweeps: Vec<Value> = listed.iter().map(summary).collect();
    Ok(Json(json!({ "sweeps": sweeps })))
}

/// Sweep `id` with its spec (its `job.env` values hidden), its trials and its best trial so far.
pub async fn show(
    State(state): State<AppState>,
    ReadSweep(sweep, _): ReadSweep,
) -> Result<Json<Value>, ApiError> {
    let trials = sweeps::trials(&state.db, sweep.id).await?;
    let spec = shown_spec(&sweep.spec);
    let goal =
        serde_json::from_value(spec["objective"]["goal"].clone()).unwrap_or(Direction::Minimize);
    let best = crate::scheduler::sweeps::best(&trials, goal).map(trial);
    let mut body = summary(&sweep);
    body["spec"] = spec;
    body["snapshot"] = sweep.snapshot.clone().into();
    body["best"] = best.unwrap_or(Value::Null);
    body["trials"] = trials.iter().map(trial).collect();
    Ok(Json(body))
}

/// The stored spec as people see it: `job.env` keeps its names, each value hidden (values are
/// write-only: runners get them with their trials' leases).
fn shown_spec(stored: &str) -> Value {
    let mut spec: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
    if let Some(env) = spec.pointer_mut("/job/env").and_then(Value::as_object_mut) {
        for value in env.values_mut() {
            *value = HIDDEN_VALUE.into();
        }
    }
    spec
}

/// Stops a running sweep: no more trials, and its queued and running trials are cancelled.
pub async fn cancel(
    State(state): State<AppState>,
    Signed(caller): Signed,
    WriteSweep(sweep, _): WriteSweep,
) -> Result<Json<Value>, ApiError> {
    let id = sweep.id;
    let reason = format!("cancelled by {}", caller.user.name);
    let mut tx = state.db.begin().await?;
    let stopped = sweeps::end_with_trials(&mut tx, id, SweepState::Stopped, &reason).await?;
    tx.commit().await?;
    let (result, state) = if stopped {
        ("stopped", SweepState::Stopped.as_str())
    } else {
        ("ended", sweep.state.as_str())
    };
    Ok(Json(json!({ "id": id, "result": result, "state": state })))
}

fn summary(sweep: &Sweep) -> Value {
    let spec: Value = serde_json::from_str(&sweep.spec).unwrap_or(Value::Null);
    json!({
        "id": sweep.id, "name": sweep.name, "project": sweep.project, "state": sweep.state,
        "reason": sweep.reason, "seed": spec["seed"], "trial_count": sweep.trial_count,
        "budget": spec["trials"], "parallel": spec["parallel"], "objective": spec["objective"],
        "cloned_from": sweep.cloned_from, "created_ms": sweep.created_ms,
        "finished_ms": sweep.finished_ms,
    })
}

fn trial(trial: &Trial) -> Value {
    let params: Value = serde_json::from_str(&trial.params).unwrap_or(Value::Null);
    let job_status = JobStatus::from_code(trial.job_status).map_or("unknown", JobStatus::as_str);
    json!({
        "index": trial.trial_index, "state": trial.state, "params": params,
        "value": trial.value, "step": trial.step, "reason": trial.reason,
        "job": { "uid": trial.job_uid, "number": trial.job_number, "status": job_status },
    })
}
