//! `runs/log-inputs`: the datasets a run read (MLflow's `mlflow.log_input`), checked against
//! MLflow's limits and kept once per experiment, and the logged models it read; and their shape,
//! with the models it output, in a run's `inputs` and `outputs`. `experiments/search-datasets`
//! lists the datasets an experiment's runs used.

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use super::logged_models;
use super::runs::live_job;
use app::auth::access::Act;
use app::auth::Caller;
use app::db::logged_models::{self as store, Link};
use app::db::run_inputs::{self, Dataset, RunInput};
use app::limits::check_length;
use app::state::AppState;
use serde_json::{json, Value};
use std::collections::HashMap;

/// MLflow's limits on dataset inputs (`mlflow/utils/validation.py`).
const MAX_DATASETS: usize = 1000;
const MAX_NAME: usize = 500;
const MAX_DIGEST: usize = 36;
const MAX_SOURCE: usize = 65_535;
const MAX_SCHEMA: usize = 1_048_575;
const MAX_PROFILE: usize = 16_777_215;
const MAX_TAG_KEY: usize = 255;
const MAX_TAG_VALUE: usize = 500;

/// Most experiments one `search-datasets` call names, as MLflow's.
const MAX_SEARCHED_EXPERIMENTS: usize = 20;
/// Most dataset summaries it answers, as MLflow's.
const MAX_SUMMARIES: usize = 1000;

/// `POST experiments/search-datasets`: each dataset the experiments' runs used, once per context.
pub async fn search(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let ids = args.checked_list("experiment_ids")?;
    if ids.is_empty() {
        return Err(MlflowError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if ids.len() > MAX_SEARCHED_EXPERIMENTS {
        return Err(MlflowError::invalid(format!(
            "SearchDatasets request cannot specify more than {MAX_SEARCHED_EXPERIMENTS} \
             experiment_ids. Received {} experiment_ids.",
            ids.len()
        )));
    }
    let mut projects = Vec::new();
    for id in ids {
        let id = super::runs::text(id);
        projects.push(project_for_id(state, caller, &id, Act::Read).await?.id);
    }
    let summaries: Vec<Value> = run_inputs::uses(&state.db, &projects, MAX_SUMMARIES)
        .await?
        .into_iter()
        .map(|used| {
            let mut summary = json!({
                "experiment_id": used.project.to_string(), "name": used.name,
                "digest": used.digest,
            });
            if let Some(context) = used.context {
                summary["context"] = json!(context);
            }
            summary
        })
        .collect();
    Ok(json!({ "dataset_summaries": summaries }))
}

/// `POST runs/log-inputs`: all of the call's datasets are kept, or none.
pub async fn log(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let job = live_job(state, caller, args).await?;
    let models = logged_models::named_models(state, caller, &job, args.list("models")).await?;
    let datasets = args.list("datasets");
    if datasets.len() > MAX_DATASETS {
        return Err(MlflowError::invalid(format!(
            "{} datasets in one call; the limit is {MAX_DATASETS}",
            datasets.len()
        )));
    }
    let inputs = datasets
        .iter()
        .enumerate()
        .map(|(i, input)| {
            dataset_input(input).map_err(|e| MlflowError::invalid(format!("datasets[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = state.db.begin().await?;
    run_inputs::log(&mut tx, job.project_id, job.id, &inputs).await?;
    store::link_run(&mut tx, Link::Input, job.id, &models).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// One `DatasetInput`, checked.
fn dataset_input(input: &Value) -> Result<RunInput, String> {
    let dataset = input.get("dataset").ok_or("no dataset")?;
    let text = |field: &str, max: usize, required: bool| -> Result<Option<String>, String> {
        match dataset.get(field).and_then(Value::as_str) {
            Some(value) => {
                check_length(&format!("the dataset's {field}"), value, max, !required)?;
                Ok(Some(value.to_owned()))
            }
            None if required => Err(format!("the dataset has no {field}")),
            None => Ok(None),
        }
    };
    let required = |field: &str, max: usize| text(field, max, true).map(Option::unwrap_or_default);
    let dataset = Dataset {
        name: required("name", MAX_NAME)?,
        digest: required("digest", MAX_DIGEST)?,
        source_type: required("source_type", MAX_NAME)?,
        source: required("source", MAX_SOURCE)?,
        schema: text("schema", MAX_SCHEMA, false)?,
        profile: text("profile", MAX_PROFILE, false)?,
    };
    let tags = input
        .get("tags")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|tag| {
            let key = tag
                .get("key")
                .and_then(Value::as_str)
                .ok_or("a tag has no key")?;
            let value = tag.get("value").and_then(Value::as_str).unwrap_or_default();
            check_length("an input tag's key", key, MAX_TAG_KEY, false)?;
            check_length("an input tag's value", value, MAX_TAG_VALUE, true)?;
            Ok((key.to_owned(), value.to_owned()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(RunInput { dataset, tags })
}

/// What a run read and produced: datasets, and logged models as (id, step).
#[derive(Debug, Default)]
pub struct RunLinks {
    /// The datasets it read.
    pub datasets: Vec<RunInput>,
    /// The logged models it read.
    pub model_inputs: Vec<(String, i64)>,
    /// The logged models it produced, with the step of each.
    pub model_outputs: Vec<(String, i64)>,
}

/// The links of each of `jobs` that has any: three queries for a whole page of runs.
pub async fn links_of(state: &AppState, jobs: &[i64]) -> sqlx::Result<HashMap<i64, RunLinks>> {
    let mut links: HashMap<i64, RunLinks> = HashMap::new();
    for (job, datasets) in run_inputs::of(&state.db, jobs).await? {
        links.entry(job).or_default().datasets = datasets;
    }
    for (job, models) in store::linked_to_runs(&state.db, Link::Input, jobs).await? {
        links.entry(job).or_default().model_inputs = models;
    }
    for (job, models) in store::linked_to_runs(&state.db, Link::Output, jobs).await? {
        links.entry(job).or_default().model_outputs = models;
    }
    Ok(links)
}

/// A run's `inputs` as MLflow shows them: `{}` for none.
pub fn inputs_json(links: &RunLinks) -> Value {
    let mut inputs = json!({});
    if !links.datasets.is_empty() {
        inputs["dataset_inputs"] = links.datasets.iter().map(dataset_json).collect();
    }
    if !links.model_inputs.is_empty() {
        inputs["model_inputs"] = links
            .model_inputs
            .iter()
            .map(|(id, _)| json!({ "model_id": id }))
            .collect();
    }
    inputs
}

/// A run's `outputs` as MLflow shows them: `{}` for none.
pub fn outputs_json(links: &RunLinks) -> Value {
    if links.model_outputs.is_empty() {
        return json!({});
    }
    let models: Vec<Value> = links
        .model_outputs
        .iter()
        .map(|(id, step)| json!({ "model_id": id, "step": step }))
        .collect();
    json!({ "model_outputs": models })
}

fn dataset_json(input: &RunInput) -> Value {
    let d = &input.dataset;
    let mut dataset = json!({
        "name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source,
    });
    if let Some(schema) = &d.schema {
        dataset["schema"] = json!(schema);
    }
    if let Some(profile) = &d.profile {
        dataset["profile"] = json!(profile);
    }
    let tags: Vec<Value> = input
        .tags
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    json!({ "tags": tags, "dataset": dataset })
}
