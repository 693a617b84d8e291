//! MLflow runs, which are millrace jobs: create, get, update, and logging metrics, parameters
//! and tags. A run id is the job's global id.

use super::args::Args;
use super::error::MlflowError;
use super::experiments::{project_for_id, DEFAULT_ID};
use super::inputs::{inputs_json, links_of, outputs_json, RunLinks};
use super::logged_models::{self, LinkedPoint};
use crate::protojson::{double_json, stored_double_json, Scalar};
use app::auth::access::{self, Act};
use app::auth::Caller;
use app::db::metrics::{Point, Summary};
use app::db::{self, events, jobs::Job, jobs::NewJob};
use app::error::AppError;
use app::limits::{check_length, MAX_KEY, MAX_PARAM_VALUE, MAX_RUN_NAME, MAX_TAG_VALUE};
use app::model::JobStatus;
use app::state::AppState;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// MLflow's log-batch limits.
const MAX_BATCH_METRICS: usize = 1000;
const MAX_BATCH_PARAMS: usize = 100;
const MAX_BATCH_TAGS: usize = 100;
const RUN_NAME_TAG: &str = "mlflow.runName";

/// The job behind the run id argument, if the caller may `act` on it.
async fn job(state: &AppState, caller: &Caller, args: &Args, act: Act) -> Result<Job, MlflowError> {
    job_by_id(state, caller, args.run_id()?, act).await
}

/// The job behind a run id, if the caller may `act` on it.
pub(super) async fn job_by_id(
    state: &AppState,
    caller: &Caller,
    id: &str,
    act: Act,
) -> Result<Job, MlflowError> {
    match access::job(&state.db, caller, id, act).await {
        Err(AppError::NotFound) => Err(MlflowError::missing(format!("Run '{id}' not found"))),
        found => Ok(found?),
    }
}

/// The run to write to: one the caller may change, and not deleted (MLflow refuses writes to
/// deleted runs too).
pub(super) async fn live_job(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Job, MlflowError> {
    live(job(state, caller, args, Act::WriteJob).await?)
}

/// The job, if it is not deleted.
pub(super) fn live(job: Job) -> Result<Job, MlflowError> {
    if job.archived != 0 {
        return Err(MlflowError::invalid(format!(
            "The run {} must be in the 'active' state. Current state is deleted. Restore it \
             before writing to it.",
            job.uid
        )));
    }
    Ok(job)
}

/// MLflow's status name for a job status code.
pub fn mlflow_status(status: i64) -> &'static str {
    match JobStatus::from_code(status) {
        Some(JobStatus::Queued) => "SCHEDULED",
        Some(JobStatus::Starting | JobStatus::Running) | None => "RUNNING",
        Some(JobStatus::Succeeded) => "FINISHED",
        Some(JobStatus::Failed | JobStatus::Lost) => "FAILED",
        Some(JobStatus::Cancelled) => "KILLED",
    }
}

fn job_status(status: &str) -> Result<JobStatus, MlflowError> {
    Ok(match status {
        "RUNNING" => JobStatus::Running,
        "SCHEDULED" => JobStatus::Queued,
        "FINISHED" => JobStatus::Succeeded,
        "FAILED" => JobStatus::Failed,
        "KILLED" => JobStatus::Cancelled,
        other => {
            return Err(MlflowError::invalid(format!(
                "unknown run status '{other}'"
            )))
        }
    })
}

fn info_json(job: &Job) -> Value {
    json!({
        "run_id": job.uid, "run_uuid": job.uid, "run_name": job.name,
        "experiment_id": job.project_id.to_string(), "user_id": job.owner(),
        "status": mlflow_status(job.status), "start_time": job.started_ms.unwrap_or(job.created_ms),
        "end_time": job.finished_ms, "artifact_uri": artifact_uri(job),
        "lifecycle_stage": lifecycle_stage(job.archived),
    })
}

/// Where the client finds the run's artifacts: through this server's artifact proxy, in the
/// job's artifact folder (see [`super::artifacts`]).
pub fn artifact_uri(job: &Job) -> String {
    artifact_uri_of(job.project_id, &job.uid)
}

/// The `artifact_uri` of run `uid` of experiment `project`.
pub fn artifact_uri_of(project: i64, uid: &str) -> String {
    format!("mlflow-artifacts:/{project}/{uid}/artifacts")
}

/// MLflow's name for an archived (deleted) or live run or experiment.
pub fn lifecycle_stage(archived: i64) -> &'static str {
    if archived != 0 {
        "deleted"
    } else {
        "active"
    }
}

/// The run with its latest metrics, parameters and tags.
async fn run_json(state: &AppState, job: &Job) -> Result<Value, MlflowError> {
    let mut conn = state.db.pool().acquire().await?;
    let summaries = db::metrics::summaries(&mut conn, job.id).await?;
    drop(conn);
    let tags = db::jobs::tags(&state.db, job.id).await?;
    let links = links_of(state, &[job.id])
        .await?
        .remove(&job.id)
        .unwrap_or_default();
    Ok(run_value(job, &summaries, &tags, &links))
}

/// A run in MLflow's shape, from what the store holds of its job.
pub fn run_value(
    job: &Job,
    summaries: &[Summary],
    tags: &[(String, String)],
    links: &RunLinks,
) -> Value {
    let metrics: Vec<Value> = summaries
        .iter()
        .map(|s| json!({ "key": s.key, "value": stored_double_json(s.last), "timestamp": s.last_ms, "step": s.last_step }))
        .collect();
    let params: Map<String, Value> = serde_json::from_str(&job.params).unwrap_or_default();
    let params: Vec<Value> = params
        .into_iter()
        .map(|(k, v)| json!({ "key": k, "value": text(&v) }))
        .collect();
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    json!({ "info": info_json(job), "data": { "metrics": metrics, "params": params, "tags": tags }, "inputs": inputs_json(links), "outputs": outputs_json(links) })
}

/// A JSON value as the text MLflow stores for parameters.
pub fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// A run name like MLflow's: adjective, animal, number.
pub(super) fn random_name() -> String {
    const ADJECTIVES: [&str; 8] = [
        "amber", "brisk", "calm", "daring", "eager", "fleet", "gentle", "keen",
    ];
    const ANIMALS: [&str; 8] = [
        "otter", "heron", "lynx", "finch", "bison", "gecko", "koala", "wren",
    ];
    let mut rng = rand::thread_rng();
    format!(
        "{}-{}-{}",
        ADJECTIVES[rng.gen_range(0..8)],
        ANIMALS[rng.gen_range(0..8)],
        rng.gen_range(0..1000)
    )
}

/// `POST runs/create`.
pub async fn create(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let experiment = args.opt_str("experiment_id").unwrap_or(DEFAULT_ID);
    let project = project_for_id(state, caller, experiment, Act::CreateRun).await?;
    let tags = key_values(args.list("tags"), "tag", MAX_TAG_VALUE)?;
    let tag_name = tags
        .iter()
        .find(|(k, _)| k == RUN_NAME_TAG)
        .map(|(_, v)| v.clone());
    let name = match (args.opt_str("run_name").filter(|n| !n.is_empty()), tag_name) {
        (Some(a), Some(b)) if a != b => {
            return Err(MlflowError::invalid(format!(
                "run_name '{a}' differs from the {RUN_NAME_TAG} tag '{b}'"
            )))
        }
        (Some(name), _) => name.to_owned(),
        (None, Some(name)) => name,
        (None, None) => random_name(),
    };
    check_run_name(&name)?;
    let start = args.opt_time_ms("start_time")?.unwrap_or_else(db::now_ms);
    let mut tags = tags;
    if !tags.iter().any(|(k, _)| k == RUN_NAME_TAG) {
        tags.push((RUN_NAME_TAG.to_owned(), name.clone()));
    }
    let spec = NewJob {
        name,
        status: Some(JobStatus::Running),
        tags,
        created_by: Some(caller.user.id),
        created_token: caller.job_token(),
        created_ms: Some(start),
        started_ms: Some(start),
        ..NewJob::default()
    };
    let mut tx = state.db.begin().await?;
    let created = db::jobs::insert_many(&mut tx, project.id, &[spec])
        .await?
        .remove(0);
    events::append(
        &mut tx,
        "job.created",
        Some(project.id),
        Some(created.id),
        &json!({ "uid": created.uid }),
    )
    .await?;
    tx.commit().await?;
    let job = db::jobs::find_visible(&state.db, caller.user.id, &created.uid)
        .await?
        .ok_or_else(|| MlflowError::missing("the new run vanished"))?;
    Ok(json!({ "run": run_json(state, &job).await? }))
}

/// `GET runs/get`.
pub async fn get(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let job = job(state, caller, args, Act::Read).await?;
    Ok(json!({ "run": run_json(state, &job).await? }))
}

/// `POST runs/update`: status, end time, name.
pub async fn update(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let new_name = args.opt_str("run_name").filter(|n| !n.is_empty());
    if let Some(name) = new_name {
        check_run_name(name)?;
    }
    let mut tx = state.db.begin().await?;
    if let Some(status) = args.opt_str("status") {
        let status = job_status(status)?;
        let current = JobStatus::from_code(job.status).unwrap_or(JobStatus::Lost);
        if !current.client_may_set(status, job.run_here != 0) {
            return Err(MlflowError::invalid(format!(
                "run '{}' is run by millrace and is {}: its runner reports its status",
                job.uid,
                current.as_str()
            )));
        }
        let at = args
            .opt_time_ms("end_time")?
            .filter(|_| status.is_finished())
            .unwrap_or_else(db::now_ms);
        db::jobs::set_status(&mut tx, job.id, status, at).await?;
        events::append(
            &mut tx,
            "job.status",
            Some(job.project_id),
            Some(job.id),
            &json!({ "status": status.as_str() }),
        )
        .await?;
    }
    if let Some(name) = new_name {
        db::jobs::rename(&mut tx, job.id, name).await?;
        db::jobs::set_tag(&mut tx, job.id, RUN_NAME_TAG, name).await?;
    }
    tx.commit().await?;
    let job = db::jobs::find_visible(&state.db, caller.user.id, &job.uid)
        .await?
        .ok_or_else(|| MlflowError::missing("run vanished"))?;
    Ok(json!({ "run_info": info_json(&job) }))
}

/// `POST runs/delete` (the job is archived) and `runs/restore`.
pub async fn set_deleted(
    state: &AppState,
    caller: &Caller,
    args: &Args,
    deleted: bool,
) -> Result<Value, MlflowError> {
    let job = job(state, caller, args, Act::WriteJob).await?;
    let mut tx = state.db.begin().await?;
    db::jobs::set_archived(&mut tx, job.id, deleted).await?;
    events::append(
        &mut tx,
        "job.archived",
        Some(job.project_id),
        Some(job.id),
        &json!({ "archived": deleted }),
    )
    .await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// `POST runs/log-metric`.
pub async fn log_metric(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let key = checked_key(args.str("key")?)?;
    let point = Point {
        step: args.opt_i64("step")?.unwrap_or(0),
        wall_ms: args
            .opt_time_ms("timestamp")?
            .ok_or_else(|| super::args::missing("timestamp"))?,
        value: args.f64("value")?,
    };
    let linked = match args.opt_str("model_id").filter(|uid| !uid.is_empty()) {
        Some(uid) => vec![LinkedPoint {
            model: logged_models::linkable(state, caller, &job, uid).await?,
            key,
            point,
            dataset_name: args.opt_str("dataset_name").unwrap_or_default().to_owned(),
            dataset_digest: args
                .opt_str("dataset_digest")
                .unwrap_or_default()
                .to_owned(),
        }],
        None => Vec::new(),
    };
    let points = if linked.is_empty() {
        vec![(key, point)]
    } else {
        Vec::new()
    };
    write(state, &job, &points, &[], &[], &linked).await?;
    Ok(json!({}))
}

/// `POST runs/log-parameter`.
pub async fn log_param(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let params = single_key_value(args, "param", MAX_PARAM_VALUE)?;
    write(state, &job, &[], &params, &[], &[]).await?;
    Ok(json!({}))
}

/// `POST runs/set-tag`.
pub async fn set_tag(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let tags = single_key_value(args, "tag", MAX_TAG_VALUE)?;
    write(state, &job, &[], &[], &tags, &[]).await?;
    Ok(json!({}))
}

/// `POST runs/delete-tag`.
pub async fn delete_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let key = args.str("key")?;
    let mut tx = state.db.begin().await?;
    let found = db::jobs::delete_tag(&mut tx, job.id, key).await?;
    tx.commit().await?;
    if !found {
        return Err(MlflowError::missing(format!(
            "No tag with name: {key} in run with id {}",
            job.uid
        )));
    }
    Ok(json!({}))
}

/// The body of `runs/log-batch`, read straight from the request bytes: metric keys borrow from
/// them and no JSON tree is built for the thousand points, the hot path of ingestion.
#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    run_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    run_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metrics: Option<Vec<BatchMetric<'a>>>,
    params: Option<Vec<Value>>,
    tags: Option<Vec<Value>>,
}

/// One metric of a batch as sent; checked field by field so an error names its index.
#[derive(Deserialize)]
struct BatchMetric<'a> {
    #[serde(borrow)]
    key: Option<Scalar<'a>>,
    #[serde(borrow)]
    value: Option<Scalar<'a>>,
    #[serde(borrow)]
    timestamp: Option<Scalar<'a>>,
    #[serde(borrow)]
    step: Option<Scalar<'a>>,
    /// The logged model the point measures, if any.
    #[serde(borrow)]
    model_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dataset_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dataset_digest: Option<Cow<'a, str>>,
}

/// Why a batch could not be read: MLflow's words for a list sent as something else, else the
/// parser's (read again as a tree only here, on the error path).
fn batch_error(body: &[u8], error: &serde_json::Error) -> MlflowError {
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        for key in ["metrics", "params", "tags"] {
            match fields.get(key) {
                None | Some(Value::Null) | Some(Value::Array(_)) => {}
                Some(other) => return super::args::invalid_value(key, other),
            }
        }
    }
    MlflowError::invalid(format!("malformed log-batch request: {error}"))
}

/// `POST runs/log-batch`: checked whole against MLflow's limits, then written in one
/// transaction. Returns the number of metric points it held.
pub async fn log_batch(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
) -> Result<usize, MlflowError> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| batch_error(body, &e))?;
    let run_id = batch
        .run_id
        .or(batch.run_uuid)
        .ok_or_else(|| super::args::missing("run_id"))?;
    let job = live(job_by_id(state, caller, &run_id, Act::WriteJob).await?)?;
    let metrics = batch.metrics.unwrap_or_default();
    let (params, tags) = (
        batch.params.unwrap_or_default(),
        batch.tags.unwrap_or_default(),
    );
    if metrics.len() > MAX_BATCH_METRICS
        || params.len() > MAX_BATCH_PARAMS
        || tags.len() > MAX_BATCH_TAGS
        || metrics.len() + params.len() + tags.len() > MAX_BATCH_METRICS
    {
        return Err(MlflowError::invalid(format!(
            "a batch holds at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and {MAX_BATCH_TAGS} tags, \
             {MAX_BATCH_METRICS} in all; got {}, {} and {}",
            metrics.len(), params.len(), tags.len()
        )));
    }
    let mut points = Vec::with_capacity(metrics.len());
    let mut linked = Vec::new();
    let mut models: HashMap<&str, i64> = HashMap::new();
    for (i, m) in metrics.iter().enumerate() {
        let (key, point) = metric(m, i)?;
        let Some(uid) = m.model_id.as_deref().filter(|uid| !uid.is_empty()) else {
            points.push((key, point));
            continue;
        };
        let model = match models.get(uid) {
            Some(model) => *model,
            None => {
                let model = logged_models::linkable(state, caller, &job, uid).await?;
                *models.entry(uid).or_insert(model)
            }
        };
        linked.push(LinkedPoint {
            model,
            key,
            point,
            dataset_name: m.dataset_name.as_deref().unwrap_or_default().to_owned(),
            dataset_digest: m.dataset_digest.as_deref().unwrap_or_default().to_owned(),
        });
    }
    let params = key_values(&params, "param", MAX_PARAM_VALUE)?;
    let tags = key_values(&tags, "tag", MAX_TAG_VALUE)?;
    write(state, &job, &points, &params, &tags, &linked).await?;
    Ok(metrics.len())
}

fn metric<'a>(metric: &'a BatchMetric, i: usize) -> Result<(&'a str, Point), MlflowError> {
    let bad = |what: &str| MlflowError::invalid(format!("metrics[{i}]: {what}"));
    // MLflow's words for a field not sent at all.
    let missing = |field: &str| super::args::missing(&format!("metrics[{i}].{field}"));
    let key = match &metric.key {
        Some(Scalar::Str(key)) => key,
        None => return Err(missing("key")),
        _ => return Err(bad("the key must be a string")),
    };
    if metric.value.is_none() {
        return Err(missing("value"));
    }
    if metric.timestamp.is_none() {
        return Err(missing("timestamp"));
    }
    let number = metric
        .value
        .as_ref()
        .and_then(Scalar::double)
        .ok_or_else(|| bad("value must be a number"))?;
    let timestamp = metric
        .timestamp
        .as_ref()
        .and_then(Scalar::int64)
        .ok_or_else(|| bad("timestamp must be an integer"))
        .and_then(|ms| app::limits::check_time_ms("timestamp", ms).map_err(|m| bad(&m)))?;
    let step = match &metric.step {
        None => 0,
        Some(step) => step.int64().ok_or_else(|| bad("step must be an integer"))?,
    };
    Ok((
        checked_key(key)?,
        Point {
            step,
            wall_ms: timestamp,
            value: number,
        },
    ))
}

fn checked_key(key: &str) -> Result<&str, MlflowError> {
    check_length("a key", key, MAX_KEY, false).map_err(MlflowError::invalid)?;
    Ok(key)
}

/// The `key` and `value` arguments of log-parameter and set-tag, checked like a batch's.
fn single_key_value(
    args: &Args,
    what: &str,
    max_value: usize,
) -> Result<Vec<(String, String)>, MlflowError> {
    key_values(
        &[json!({ "key": args.str("key")?, "value": args.str("value")? })],
        what,
        max_value,
    )
}

/// A run name within MLflow's limit.
fn check_run_name(name: &str) -> Result<(), MlflowError> {
    check_length("run_name", name, MAX_RUN_NAME, false).map_err(MlflowError::invalid)
}

/// Key-value pairs (params or tags) checked against MLflow's limits.
pub(super) fn key_values(
    items: &[Value],
    what: &str,
    max_value: usize,
) -> Result<Vec<(String, String)>, MlflowError> {
    items
        .iter()
        .map(|item| {
            let key = item
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| MlflowError::invalid(format!("a {what} needs a key")))?;
            let value = item.get("value").map(text).unwrap_or_default();
            let key = checked_key(key)?;
            check_length(
                &format!("the value of {what} '{key}'"),
                &value,
                max_value,
                true,
            )
            .map_err(MlflowError::invalid)?;
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// Writes metrics, parameters and tags of one run in one transaction. A parameter keeps its
/// first value, as in MLflow: logging it again with another value is an error. Points `linked`
/// to a model are linked to it, and added to the run unless it has the very same point: MLflow's
/// client links a model by logging the run's points again with the model's id.
async fn write(
    state: &AppState,
    job: &Job,
    points: &[(&str, Point)],
    params: &[(String, String)],
    tags: &[(String, String)],
    linked: &[LinkedPoint<'_>],
) -> Result<(), MlflowError> {
    let mut tx = state.db.begin().await?;
    let mut points = Cow::Borrowed(points);
    for link in linked {
        if !db::metrics::has_point(&mut tx, job.id, link.key, &link.point).await? {
            points.to_mut().push((link.key, link.point));
        }
        let metric = link.metric(&job.uid);
        db::logged_models::link_metrics(&mut tx, link.model, job.id, &[metric]).await?;
    }
    if !params.is_empty() {
        let mut stored = db::jobs::params(&mut tx, job.id).await?;
        for (key, value) in params {
            match stored.get(key) {
                Some(old) if text(old) != *value => {
                    return Err(MlflowError::invalid(format!(
                        "parameter '{key}' was already logged with value '{}'; a parameter cannot change",
                        text(old)
                    )))
                }
                _ => {
                    stored.insert(key.clone(), Value::String(value.clone()));
                }
            }
        }
        db::jobs::set_params(&mut tx, job.project_id, job.id, &stored).await?;
    }
    for (key, value) in tags {
        db::jobs::set_tag(&mut tx, job.id, key, value).await?;
    }
    if !points.is_empty() {
        db::metrics::append_keyed(&mut tx, job.project_id, job.id, &points).await?;
    }
    let payload = json!({ "metrics": points.len(), "params": params.len(), "tags": tags.len() });
    events::append(
        &mut tx,
        "metrics",
        Some(job.project_id),
        Some(job.id),
        &payload,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `GET metrics/get-history`: a series in step order, paged with an opaque token.
pub async fn history(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let job = job(state, caller, args, Act::Read).await?;
    let key = args.str("metric_key")?;
    // MLflow refuses a page of no points, and sends at most 25,000 a page whatever is asked.
    let limit = args.max_results(25_000, i64::MAX)?.min(25_000);
    let after = match args.opt_str("page_token").filter(|t| !t.is_empty()) {
        Some(token) => {
            Some(parse_token(token).ok_or_else(|| MlflowError::invalid("invalid page_token"))?)
        }
        None => None,
    };
    let mut conn = state.db.pool().acquire().await?;
    let Some(series) = db::metrics::series(&mut conn, job.id, key).await? else {
        return Ok(json!({ "metrics": [] }));
    };
    let points = db::metrics::points_after(&mut conn, series.id, after, limit + 1).await?;
    let more = points.len() as i64 > limit;
    let page = &points[..points.len().min(limit as usize)];
    let metrics: Vec<Value> = page
        .iter()
        .map(|(_, p)| json!({ "key": key, "value": double_json(p.value), "timestamp": p.wall_ms, "step": p.step }))
        .collect();
    let mut answer = json!({ "metrics": metrics });
    if let (true, Some((seq, last))) = (more, page.last()) {
        answer["next_page_token"] = json!(format!("{}.{}", last.step, seq));
    }
    Ok(answer)
}

/// Most runs and points per run of `metrics/get-history-bulk-interval`, as in MLflow.
const BULK_MAX_RUNS: usize = 100;
const BULK_MAX_PER_RUN: i64 = 2500;

/// `GET metrics/get-history-bulk-interval`: each run's series sampled at evenly spaced steps
/// of its range (the last step always kept), as MLflow's UI asks for.
pub async fn history_bulk(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let ids: Vec<String> = args.list("run_ids").iter().map(text).collect();
    let ids = if ids.is_empty() {
        args.opt_str("run_ids")
            .map(|id| vec![id.to_owned()])
            .unwrap_or_default()
    } else {
        ids
    };
    if ids.is_empty() {
        return Err(super::args::missing("run_ids"));
    }
    if ids.len() > BULK_MAX_RUNS {
        return Err(MlflowError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {BULK_MAX_RUNS} run_ids. \
             Received {} run_ids.",
            ids.len()
        )));
    }
    let key = args.str("metric_key")?;
    if key.is_empty() {
        return Err(super::args::missing("metric_key"));
    }
    let (first, last) = match (args.opt_i64("start_step")?, args.opt_i64("end_step")?) {
        (None, None) => (i64::MIN, i64::MAX),
        (Some(first), Some(last)) if first > last => {
            return Err(MlflowError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={first} and \
                 end_step={last}."
            )))
        }
        (Some(first), Some(last)) => (first, last),
        _ => {
            return Err(MlflowError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ))
        }
    };
    let per_run = args.max_results(BULK_MAX_PER_RUN, BULK_MAX_PER_RUN)?;
    let mut metrics = Vec::new();
    for id in &ids {
        let job = job_by_id(state, caller, id, Act::Read).await?;
        let mut conn = state.db.pool().acquire().await?;
        let Some(series) = db::metrics::series(&mut conn, job.id, key).await? else {
            continue;
        };
        let points = sampled_points(&mut conn, series.id, first, last, per_run as usize).await?;
        for p in points {
            let value = double_json(p.value);
            metrics.push(json!({ "key": key, "value": value, "timestamp": p.wall_ms, "step": p.step, "run_id": job.uid }));
        }
    }
    Ok(json!({ "metrics": metrics }))
}

/// Points read per query while sampling: a series of millions of points is walked page by
/// page, so memory stays at one page and the sample.
const SAMPLE_PAGE: i64 = 10_000;

/// The points of `series` at up to `max` evenly spaced distinct steps from `first` to `last`.
async fn sampled_points(
    conn: &mut sqlx::AnyConnection,
    series: i64,
    first: i64,
    last: i64,
    max: usize,
) -> sqlx::Result<Vec<Point>> {
    let distinct = db::metrics::distinct_steps(conn, series, first, last).await?;
    let mut sampler = StepSampler::new(distinct.max(0) as usize, max);
    let mut kept = Vec::new();
    let mut after = (first, i64::MIN);
    loop {
        let page = db::metrics::points_after(conn, series, Some(after), SAMPLE_PAGE).await?;
        for (_, point) in page.iter().take_while(|(_, p)| p.step <= last) {
            if sampler.keeps(point.step) {
                kept.push(*point);
            }
        }
        match page.last() {
            Some((seq, point))
                if page.len() as i64 == SAMPLE_PAGE && point.step <= last && !sampler.done() =>
            {
                after = (point.step, *seq);
            }
            _ => return Ok(kept),
        }
    }
}

/// Chooses, among steps seen in order, up to `max` evenly spaced distinct ones, always with the
/// last; every point of a chosen step is kept.
struct StepSampler {
    /// Positions (among the distinct steps) to keep.
    chosen: std::collections::BTreeSet<usize>,
    /// Position of the step seen last, and that step.
    at: Option<(usize, i64)>,
}

impl StepSampler {
    /// A sampler for `distinct` steps in all.
    fn new(distinct: usize, max: usize) -> Self {
        let chosen = if distinct <= max {
            (0..distinct).collect()
        } else {
            let stride = (distinct - 1) as f64 / (max - 1).max(1) as f64;
            (0..max)
                .map(|i| ((i as f64 * stride).round() as usize).min(distinct - 1))
                .chain(std::iter::once(distinct - 1))
                .collect()
        };
        Self { chosen, at: None }
    }

    /// Whether a point at `step` (steps arriving in order) is kept.
    fn keeps(&mut self, step: i64) -> bool {
        let position = match self.at {
            Some((position, seen)) if seen == step => position,
            Some((position, _)) => position + 1,
            None => 0,
        };
        self.at = Some((position, step));
        self.chosen.contains(&position)
    }

    /// Whether no later step can be kept.
    fn done(&self) -> bool {
        match (self.at, self.chosen.last()) {
            (Some((position, _)), Some(last)) => position > *last,
            (_, None) => true,
            (None, Some(_)) => false,
        }
    }
}

fn parse_token(token: &str) -> Option<(i64, i64)> {
    let (step, seq) = token.split_once('.')?;
    Some((step.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_steps(points: &[Point], max: usize) -> Vec<Point> {
        let mut steps: Vec<i64> = points.iter().map(|p| p.step).collect();
        steps.dedup();
        let mut sampler = StepSampler::new(steps.len(), max);
        points
            .iter()
            .filter(|p| sampler.keeps(p.step))
            .copied()
            .collect()
    }

    #[test]
    fn sampling_keeps_evenly_spaced_steps_and_the_last() {
        let points: Vec<Point> = (0..1001)
            .map(|step| Point {
                step,
                wall_ms: 0,
                value: 1.0,
            })
            .collect();
        let steps: Vec<i64> = sample_steps(&points, 11).iter().map(|p| p.step).collect();
        assert_eq!(
            steps,
            [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        );
        let few: Vec<i64> = sample_steps(&points[..5], 11)
            .iter()
            .map(|p| p.step)
            .collect();
        assert_eq!(few, [0, 1, 2, 3, 4]);
        let repeated = [
            Point {
                step: 1,
                wall_ms: 0,
                value: 1.0,
            },
            Point {
                step: 1,
                wall_ms: 1,
                value: 2.0,
            },
        ];
        assert_eq!(
            sample_steps(&repeated, 1).len(),
            2,
            "every point of a chosen step is kept"
        );
        let mut sampler = StepSampler::new(3, 3);
        assert!((0..3).all(|step| sampler.keeps(step)));
        assert!(!sampler.done(), "more points of the last step may follow");
        assert!(!sampler.keeps(3));
        assert!(sampler.done());
    }
}
