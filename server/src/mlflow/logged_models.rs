//! MLflow 3's logged models (`mlflow.<flavor>.log_model`): created for the run that produced
//! them, their files uploaded through the artifact proxy into that run's artifact folder under
//! `models/ID/` (or a folder of their own when logged without a run), finalized, tagged,
//! searched, and linked to the metrics they were measured with and the runs that output or read
//! them. Who may read or change a model is who may read or write its run (its project, for a
//! model without a run).

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use super::filter::{self, Field, Literal, RunView};
use super::like::Budget;
use super::runs::{self, job_by_id, live};
use super::search::{literal_cmp, searched_projects, too_costly};
use crate::protojson::double_json;
use app::auth::access::{self, Act};
use app::auth::Caller;
use app::db::jobs::Job;
use app::db::logged_models::{self as store, Details, Link, LoggedModel, ModelMetric, NewModel};
use app::db::metrics::Point;
use app::error::AppError;
use app::limits::{check_length, MAX_PARAM_VALUE, MAX_RUN_NAME, MAX_TAG_VALUE};
use app::state::AppState;
use rand::Rng;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Most params or tags one call may set, as MLflow's client sends them in batches of 100.
const MAX_PER_CALL: usize = 100;
/// Models a search answers when `max_results` is not given.
const DEFAULT_RESULTS: i64 = 100;
/// Most models a search answers at once.
const MAX_RESULTS: i64 = 1000;
/// What a model filter may name without `attributes.`, as MLflow's logged-model filters do.
const ATTRIBUTES: &[&str] = &[
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
];
/// The statuses a model may be finalized with.
const FINAL_STATUSES: [&str; 2] = ["LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"];

/// The model `uid` and its run, if the caller may `act` on that run (on the project, for a model
/// logged without a run: writing it then takes write access to the project); a deleted model
/// only when `deleted_too`.
pub(super) async fn model(
    state: &AppState,
    caller: &Caller,
    uid: &str,
    act: Act,
    deleted_too: bool,
) -> Result<(LoggedModel, Option<Job>), MlflowError> {
    let missing = || MlflowError::missing(format!("logged model '{uid}' not found"));
    let model = store::find(&state.db, uid).await?.ok_or_else(missing)?;
    let job = match &model.job_uid {
        Some(run) => match access::job(&state.db, caller, run, act).await {
            Err(AppError::NotFound) => return Err(missing()),
            found => Some(found?),
        },
        None => {
            let act = if act == Act::WriteJob {
                Act::Write
            } else {
                act
            };
            let id = model.project_id.to_string();
            match project_for_id(state, caller, &id, act).await {
                Err(error) if error.code == "RESOURCE_DOES_NOT_EXIST" => return Err(missing()),
                found => {
                    found?;
                    None
                }
            }
        }
    };
    if model.deleted != 0 && !deleted_too {
        return Err(missing());
    }
    Ok((model, job))
}

/// The model a write names, which must not be deleted, nor its run.
async fn writable(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<LoggedModel, MlflowError> {
    let (model, job) = model(state, caller, args.str("model_id")?, Act::WriteJob, false).await?;
    job.map(live).transpose()?;
    Ok(model)
}

/// `{"model": ...}` for the model `uid` as it now is.
async fn answer(state: &AppState, uid: &str) -> Result<Value, MlflowError> {
    let model = store::find(&state.db, uid)
        .await?
        .expect("a model is never removed from the store");
    let details = store::details(&state.db, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    Ok(json!({ "model": model_json(&model, &details) }))
}

/// `POST logged-models`: a pending model of the run `source_run_id`.
pub async fn create(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let experiment = args.str("experiment_id")?;
    let (project, job) = match args.opt_str("source_run_id").filter(|r| !r.is_empty()) {
        Some(run) => {
            let project = project_for_id(state, caller, experiment, Act::Read).await?;
            let job = live(job_by_id(state, caller, run, Act::WriteJob).await?)?;
            if job.project_id != project.id {
                return Err(MlflowError::invalid(format!(
                    "run '{run}' is not in experiment '{experiment}'"
                )));
            }
            (project, Some(job.id))
        }
        None => (
            project_for_id(state, caller, experiment, Act::Write).await?,
            None,
        ),
    };
    let name = match args.opt_str("name").filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => runs::random_name(),
    };
    check_length("the model's name", &name, MAX_RUN_NAME, false).map_err(MlflowError::invalid)?;
    let model_type = args.opt_str("model_type").unwrap_or_default();
    check_length("model_type", model_type, MAX_RUN_NAME, true).map_err(MlflowError::invalid)?;
    let params = pairs(args, "params", "param", MAX_PARAM_VALUE)?;
    let tags = pairs(args, "tags", "tag", MAX_TAG_VALUE)?;
    let uid = format!("m-{:032x}", rand::thread_rng().gen::<u128>());
    let mut tx = state.db.begin().await?;
    store::create(
        &mut tx,
        &NewModel {
            uid: &uid,
            project: project.id,
            job,
            name: &name,
            model_type,
            creator: caller.user.id,
            params: &params,
            tags: &tags,
        },
    )
    .await?;
    tx.commit().await?;
    answer(state, &uid).await
}

/// The checked key-value pairs of list argument `key`, at most [`MAX_PER_CALL`].
fn pairs(
    args: &Args,
    key: &str,
    what: &str,
    max_value: usize,
) -> Result<Vec<(String, String)>, MlflowError> {
    let items = args.list(key);
    if items.len() > MAX_PER_CALL {
        return Err(MlflowError::invalid(format!(
            "{} {key} in one call; the limit is {MAX_PER_CALL}",
            items.len()
        )));
    }
    runs::key_values(items, what, max_value)
}

/// `GET logged-models/{model_id}`, deleted ones with `allow_deleted=true`.
pub async fn get(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let deleted_too = args.opt_str("allow_deleted") == Some("true")
        || args.0.get("allow_deleted") == Some(&Value::Bool(true));
    let (model, _) = model(state, caller, args.str("model_id")?, Act::Read, deleted_too).await?;
    answer(state, &model.uid).await
}

/// `PATCH logged-models/{model_id}`: the model's files are in (`READY`) or failed to upload.
pub async fn finalize(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = writable(state, caller, args).await?;
    let status = match args.0.get("status") {
        Some(Value::String(name)) => name.clone(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(2) => FINAL_STATUSES[0].to_owned(),
            Some(3) => FINAL_STATUSES[1].to_owned(),
            _ => n.to_string(),
        },
        _ => String::new(),
    };
    if !FINAL_STATUSES.contains(&status.as_str()) {
        return Err(MlflowError::invalid(format!(
            "a model is finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED, not '{status}'"
        )));
    }
    let message = args.opt_str("status_message").unwrap_or_default();
    store::set_status(&state.db, model.id, &status, message).await?;
    answer(state, &model.uid).await
}

/// `DELETE logged-models/{model_id}`: the model is gone from searches; its files stay.
pub async fn delete(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let model = writable(state, caller, args).await?;
    store::delete(&state.db, model.id).await?;
    Ok(json!({}))
}

/// `PATCH logged-models/{model_id}/tags`.
pub async fn set_tags(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = writable(state, caller, args).await?;
    let tags = pairs(args, "tags", "tag", MAX_TAG_VALUE)?;
    let mut tx = state.db.begin().await?;
    store::set_tags(&mut tx, model.id, &tags).await?;
    tx.commit().await?;
    answer(state, &model.uid).await
}

/// `DELETE logged-models/{model_id}/tags/{tag_key}`.
pub async fn delete_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = writable(state, caller, args).await?;
    let key = args.str("tag_key")?;
    if !store::delete_tag(&state.db, model.id, key).await? {
        return Err(MlflowError::missing(format!(
            "No tag with key '{key}' found on logged model '{}'",
            model.uid
        )));
    }
    Ok(json!({}))
}

/// `POST logged-models/{model_id}/params`: a param keeps its first value, as a run's does.
pub async fn log_params(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = writable(state, caller, args).await?;
    let params = pairs(args, "params", "param", MAX_PARAM_VALUE)?;
    let kept = store::details(&state.db, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default()
        .params;
    for (key, value) in &params {
        if let Some((_, old)) = kept.iter().find(|(k, _)| k == key) {
            if old != value {
                return Err(MlflowError::invalid(format!(
                    "param '{key}' of logged model '{}' is '{old}'; a param cannot change",
                    model.uid
                )));
            }
        }
    }
    let mut tx = state.db.begin().await?;
    store::add_params(&mut tx, model.id, &params).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// The model `uid` that run `job` links to (as output, input or metric): readable, and in the
/// run's experiment, so a run cannot attach itself to another project's model.
pub async fn linkable(
    state: &AppState,
    caller: &Caller,
    job: &Job,
    uid: &str,
) -> Result<i64, MlflowError> {
    let (model, _) = model(state, caller, uid, Act::Read, false).await?;
    if model.project_id != job.project_id {
        return Err(MlflowError::invalid(format!(
            "logged model '{uid}' is not in the run's experiment"
        )));
    }
    Ok(model.id)
}

/// The models a run's `runs/outputs` or `runs/log-inputs` call names, as (id, step).
pub async fn named_models(
    state: &AppState,
    caller: &Caller,
    job: &Job,
    items: &[Value],
) -> Result<Vec<(i64, i64)>, MlflowError> {
    // Each model is looked up and checked for access: the count is bounded like params are.
    if items.len() > MAX_PER_CALL {
        return Err(MlflowError::invalid(format!(
            "{} models in one call; the limit is {MAX_PER_CALL}",
            items.len()
        )));
    }
    let mut found = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let uid = item
            .get("model_id")
            .and_then(Value::as_str)
            .ok_or_else(|| MlflowError::invalid(format!("models[{i}] has no model_id")))?;
        let step = item
            .get("step")
            .and_then(crate::protojson::int64)
            .unwrap_or(0);
        found.push((linkable(state, caller, job, uid).await?, step));
    }
    Ok(found)
}

/// `POST runs/outputs`: the models the run produced.
pub async fn log_outputs(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let job = runs::live_job(state, caller, args).await?;
    let models = named_models(state, caller, &job, args.list("models")).await?;
    let mut tx = state.db.begin().await?;
    store::link_run(&mut tx, Link::Output, job.id, &models).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// A metric point of a run that its batch linked to a model.
pub struct LinkedPoint<'a> {
    /// The model's id.
    pub model: i64,
    /// The metric's key.
    pub key: &'a str,
    /// The point.
    pub point: Point,
    /// The dataset it was measured on, or empty.
    pub dataset_name: String,
    /// That dataset's digest, or empty.
    pub dataset_digest: String,
}

impl LinkedPoint<'_> {
    /// The point as the model keeps it.
    pub fn metric(&self, job_uid: &str) -> ModelMetric {
        ModelMetric {
            key: self.key.to_owned(),
            step: self.point.step,
            wall_ms: self.point.wall_ms,
            value: self.point.value,
            job_uid: job_uid.to_owned(),
            dataset_name: self.dataset_name.clone(),
            dataset_digest: self.dataset_digest.clone(),
        }
    }
}

/// `POST logged-models/search`: the live models of `experiment_ids` that match `filter`,
/// ordered by `order_by` (newest first by default) and paged.
pub async fn search(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    if args.list("experiment_ids").is_empty() {
        return Err(super::args::missing("experiment_ids"));
    }
    let projects = searched_projects(state, caller, args).await?;
    let filter = filter::parse_naming(args.opt_str("filter").unwrap_or_default(), ATTRIBUTES)
        .map_err(|e| MlflowError::invalid(format!("invalid filter: {e}")))?;
    let order = order_by(args.list("order_by"))?;
    let datasets = datasets(args.list("datasets"))?;
    let max = args.max_results(DEFAULT_RESULTS, MAX_RESULTS)?;
    let offset = args.offset()?;

    let models = store::in_projects(&state.db, &projects).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut details = store::details(&state.db, &ids).await?;
    let mut found = Vec::new();
    let mut budget = Budget::for_search();
    for model in models {
        let details = details.remove(&model.id).unwrap_or_default();
        let measured =
            datasets.is_empty() || details.metrics.iter().any(|m| on_datasets(&datasets, m));
        if !measured {
            continue;
        }
        let view = view(&model, &details, &datasets);
        let kept = match &filter {
            Some(filter) => filter
                .matches(&view, &mut budget)
                .map_err(|_| too_costly())?,
            None => true,
        };
        if kept {
            found.push((model, details, view));
        }
    }
    // A stable sort keeps the store's newest-first order among equals.
    found.sort_by(|a, b| compare(&order, &a.2, &b.2));
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(max as usize)
        .map(|(model, details, _)| model_json(model, details))
        .collect();
    let mut answer = json!({ "models": page });
    if offset + (max as usize) < found.len() {
        answer["next_page_token"] = json!((offset + max as usize).to_string());
    }
    Ok(answer)
}

/// A dataset a search's metrics are limited to: name and, if given, digest.
type DatasetScope = (String, Option<String>);

fn datasets(items: &[Value]) -> Result<Vec<DatasetScope>, MlflowError> {
    items
        .iter()
        .map(|d| {
            let name = d
                .get("dataset_name")
                .and_then(Value::as_str)
                .ok_or_else(|| MlflowError::invalid("each of datasets needs a dataset_name"))?;
            let digest = d.get("dataset_digest").and_then(Value::as_str);
            Ok((name.to_owned(), digest.map(str::to_owned)))
        })
        .collect()
}

/// The order terms of a search, as (field, ascending).
fn order_by(items: &[Value]) -> Result<Vec<(Field, bool)>, MlflowError> {
    items
        .iter()
        .map(|item| {
            let name = item
                .get("field_name")
                .and_then(Value::as_str)
                .ok_or_else(|| MlflowError::invalid("each of order_by needs a field_name"))?;
            let ascending = item
                .get("ascending")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            match filter::parse_naming(&format!("{name} = 0"), ATTRIBUTES) {
                Ok(Some(filter::Expr::Compare(field, _, _))) => Ok((field, ascending)),
                _ => Err(MlflowError::invalid(format!("cannot order by '{name}'"))),
            }
        })
        .collect()
}

fn compare(order: &[(Field, bool)], a: &RunView, b: &RunView) -> Ordering {
    for (field, ascending) in order {
        let ordering = match (filter::value_of(field, a), filter::value_of(field, b)) {
            (Some(x), Some(y)) if *ascending => literal_cmp(&x, &y),
            (Some(x), Some(y)) => literal_cmp(&y, &x),
            // Models without the value go last either way.
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Whether metric `m` was measured on one of `datasets`.
fn on_datasets(datasets: &[DatasetScope], m: &ModelMetric) -> bool {
    datasets.iter().any(|(name, digest)| {
        *name == m.dataset_name && digest.as_ref().is_none_or(|d| *d == m.dataset_digest)
    })
}

/// A model as a filter sees it: its latest metric per key (on the given datasets only, if any).
fn view(model: &LoggedModel, details: &Details, datasets: &[DatasetScope]) -> RunView {
    let mut latest: HashMap<&str, &ModelMetric> = HashMap::new();
    let scoped = |m: &&ModelMetric| datasets.is_empty() || on_datasets(datasets, m);
    for metric in details.metrics.iter().filter(scoped) {
        let newer = latest
            .get(metric.key.as_str())
            .is_none_or(|old| (metric.step, metric.wall_ms) >= (old.step, old.wall_ms));
        if newer {
            latest.insert(&metric.key, metric);
        }
    }
    let text = |s: &str| Literal::Text(s.to_owned());
    let number = |n: i64| Literal::Number(n as f64);
    let mut attributes = HashMap::from([
        ("name", text(&model.name)),
        ("model_id", text(&model.uid)),
        ("model_type", text(&model.model_type)),
        ("status", text(&model.status)),
        ("creation_timestamp", number(model.created_ms)),
        ("creation_time", number(model.created_ms)),
        ("last_updated_timestamp", number(model.updated_ms)),
    ]);
    if let Some(run) = &model.job_uid {
        attributes.insert("source_run_id", text(run));
    }
    RunView {
        metrics: latest
            .into_iter()
            .map(|(k, m)| (k.to_owned(), m.value))
            .collect(),
        params: details.params.iter().cloned().collect(),
        tags: details.tags.iter().cloned().collect(),
        attributes,
        missing_tag_differs: false,
    }
}

/// Where a model's files are, through the artifact proxy: a folder of its run's artifacts, or
/// a folder of its own for a model logged without a run.
pub fn artifact_uri(model: &LoggedModel) -> String {
    match &model.job_uid {
        Some(run) => format!(
            "{}/models/{}",
            runs::artifact_uri_of(model.project_id, run),
            model.uid
        ),
        None => format!(
            "mlflow-artifacts:/{}/models/{}/artifacts",
            model.project_id, model.uid
        ),
    }
}

/// A model in MLflow's shape.
fn model_json(model: &LoggedModel, details: &Details) -> Value {
    let pairs = |list: &[(String, String)]| -> Vec<Value> {
        list.iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect()
    };
    let metrics: Vec<Value> = details
        .metrics
        .iter()
        .map(|m| {
            let mut metric = json!({
                "key": m.key, "value": double_json(m.value), "timestamp": m.wall_ms,
                "step": m.step, "run_id": m.job_uid, "model_id": model.uid,
            });
            if !m.dataset_name.is_empty() {
                metric["dataset_name"] = json!(m.dataset_name);
                metric["dataset_digest"] = json!(m.dataset_digest);
            }
            metric
        })
        .collect();
    let mut info = json!({
        "model_id": model.uid, "experiment_id": model.project_id.to_string(),
        "name": model.name, "creation_timestamp_ms": model.created_ms,
        "last_updated_timestamp_ms": model.updated_ms, "artifact_uri": artifact_uri(model),
        "status": model.status, "creator_id": model.creator_id, "tags": pairs(&details.tags),
    });
    if let Some(run) = &model.job_uid {
        info["source_run_id"] = json!(run);
    }
    if !model.model_type.is_empty() {
        info["model_type"] = json!(model.model_type);
    }
    if !model.status_message.is_empty() {
        info["status_message"] = json!(model.status_message);
    }
    json!({ "info": info, "data": { "params": pairs(&details.params), "metrics": metrics } })
}
