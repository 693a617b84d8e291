//! MLflow's model registry (`registered-models/...`, `model-versions/...`), so
//! `mlflow.register_model`, aliases and `load_model("models:/name@alias")` work against millrace.
//!
//! Names are unique on the instance, as MLflow's client finds a model by name alone. A registered
//! model belongs to the project its versions come from: its readers read the model and its
//! members change it. Until its first version places it, a model is its creator's alone.

mod models;
mod versions;

pub use models::*;
pub use versions::*;

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use super::filter::{self, Expr, Literal, RunView};
use super::like::Budget;
use super::search::{literal_cmp, too_costly};
use app::auth::access::{may_write, Act};
use app::auth::Caller;
use app::db::registry::{self as store, ModelVersion, RegisteredModel};
use app::limits::check_length;
use app::state::AppState;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// Longest registered model name, as MLflow's database column has it.
const MAX_NAME: usize = 256;
/// Longest description of a model or version.
const MAX_DESCRIPTION: usize = 5000;
/// Longest alias, as MLflow's.
const MAX_ALIAS: usize = 255;
/// Most tags one call may set.
const MAX_TAGS: usize = 100;
/// MLflow's legacy stages, as it spells them.
const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// The registered model `name`, if the caller may `act` on it; one they may not see is "not
/// found", as if it did not exist.
async fn registered(
    state: &AppState,
    caller: &Caller,
    name: &str,
    act: Act,
) -> Result<RegisteredModel, MlflowError> {
    let missing = || MlflowError::missing(format!("Registered Model with name={name} not found"));
    let model = store::find(&state.db, name).await?.ok_or_else(missing)?;
    match model.project_id {
        Some(project) => match project_for_id(state, caller, &project.to_string(), act).await {
            Err(error) if error.code == "RESOURCE_DOES_NOT_EXIST" => Err(missing()),
            found => found.map(|_| model),
        },
        // A job's token sees its own project only, never its user's models without one.
        None if (model.creator_id == caller.user.id || caller.is_admin())
            && caller.job_token().is_none() =>
        {
            if act != Act::Read {
                may_write(caller)?;
            }
            Ok(model)
        }
        None => Err(missing()),
    }
}

/// The `name` argument, checked as MLflow checks model names.
fn checked_name<'a>(args: &'a Args, key: &str) -> Result<&'a str, MlflowError> {
    let name = args.str(key)?;
    if name.trim().is_empty() {
        return Err(super::args::missing(key));
    }
    // Length first: the next message repeats the name.
    check_length("the model name", name, MAX_NAME, false).map_err(MlflowError::invalid)?;
    if name.contains(['/', ':']) {
        return Err(MlflowError::invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    Ok(name)
}

/// The optional `description` argument, checked for length.
fn description(args: &Args) -> Result<&str, MlflowError> {
    let text = args.opt_text("description")?.unwrap_or_default();
    check_length("the description", text, MAX_DESCRIPTION, true).map_err(MlflowError::invalid)?;
    Ok(text)
}

/// The `tags` list argument, checked, at most [`MAX_TAGS`].
fn tags(args: &Args) -> Result<Vec<(String, String)>, MlflowError> {
    let items = args.checked_list("tags")?;
    if items.len() > MAX_TAGS {
        return Err(MlflowError::invalid(format!(
            "{} tags in one call; the limit is {MAX_TAGS}",
            items.len()
        )));
    }
    super::runs::key_values(items, "tag", app::limits::MAX_TAG_VALUE)
}

/// One `key`/`value` tag from the arguments.
fn one_tag(args: &Args) -> Result<(String, String), MlflowError> {
    let key = args.str("key")?;
    let tag = json!([{ "key": key, "value": args.0.get("value").cloned().unwrap_or(json!("")) }]);
    let mut found = super::runs::key_values(
        tag.as_array().expect("a list"),
        "tag",
        app::limits::MAX_TAG_VALUE,
    )?;
    Ok(found.remove(0))
}

/// `[{"key": ..., "value": ...}]`.
fn pairs_json(pairs: &[(String, String)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

/// A version in MLflow's shape, with its tags and the aliases that name it.
fn version_json(version: &ModelVersion, tags: &[(String, String)], aliases: &[String]) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, value: Value| {
        out.insert(key.to_owned(), value);
    };
    put("name", json!(version.name));
    put("version", json!(version.version.to_string()));
    put("creation_timestamp", json!(version.created_ms));
    put("last_updated_timestamp", json!(version.updated_ms));
    put("user_id", json!(version.creator));
    put("current_stage", json!(version.stage));
    put("description", json!(version.description));
    put("source", json!(version.source));
    put("status", json!("READY"));
    put("tags", json!(pairs_json(tags)));
    put("aliases", json!(aliases));
    if let Some(run) = &version.run_uid {
        put("run_id", json!(run));
    }
    if let Some(model) = &version.logged_model_uid {
        put("model_id", json!(model));
    }
    if !version.run_link.is_empty() {
        put("run_link", json!(version.run_link));
    }
    Value::Object(out)
}

/// A registered model in MLflow's shape: its latest version in each stage, tags and aliases.
fn model_json(
    model: &RegisteredModel,
    latest: &[Value],
    tags: &[(String, String)],
    aliases: &[(String, i64)],
) -> Value {
    let aliases: Vec<Value> = aliases
        .iter()
        .map(|(alias, version)| json!({ "alias": alias, "version": version.to_string() }))
        .collect();
    json!({
        "name": model.name, "creation_timestamp": model.created_ms,
        "last_updated_timestamp": model.updated_ms, "user_id": model.creator,
        "description": model.description, "latest_versions": latest, "tags": pairs_json(tags),
        "aliases": aliases,
    })
}

/// The newest version in each stage, as MLflow's `latest_versions` lists them.
fn latest_per_stage(versions: &[ModelVersion]) -> Vec<&ModelVersion> {
    let mut latest: Vec<&ModelVersion> = Vec::new();
    for version in versions {
        match latest.iter_mut().find(|v| v.stage == version.stage) {
            Some(kept) if kept.version < version.version => *kept = version,
            Some(_) => {}
            None => latest.push(version),
        }
    }
    latest.sort_by_key(|v| v.version);
    latest
}

/// A stage name in MLflow's spelling, whatever the case it was given in.
fn canonical_stage(stage: &str) -> Result<&'static str, MlflowError> {
    STAGES
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(stage))
        .ok_or_else(|| {
            MlflowError::invalid(format!(
                "Invalid Model Version stage: {stage}. Value must be one of {}.",
                STAGES.join(", ")
            ))
        })
}

/// A search filter over models or versions, whose attributes `bare` may be named alone.
fn parsed_filter(args: &Args, bare: &'static [&'static str]) -> Result<Option<Expr>, MlflowError> {
    let text = args.opt_text("filter")?.unwrap_or_default();
    filter::parse_naming(text, bare)
        .map_err(|e| MlflowError::invalid(format!("invalid filter: {e}")))
}

/// Whether `view` passes `filter`.
fn kept(filter: Option<&Expr>, view: &RunView, budget: &mut Budget) -> Result<bool, MlflowError> {
    match filter {
        Some(filter) => filter.matches(view, budget).map_err(|_| too_costly()),
        None => Ok(true),
    }
}

/// `order_by` terms (`name`, `version_number DESC`...) among `allowed` keys, as (key,
/// ascending); `timestamp` stands for `last_updated_timestamp`, as MLflow reads it.
fn order_terms(
    args: &Args,
    allowed: &'static [&'static str],
) -> Result<Vec<(&'static str, bool)>, MlflowError> {
    let terms = args.texts("order_by")?;
    if terms.len() > allowed.len() {
        return Err(MlflowError::invalid("`order_by` contains duplicate fields"));
    }
    let mut order: Vec<(&'static str, bool)> = Vec::new();
    for text in terms {
        let mut words = text.split_whitespace();
        let key = words.next().unwrap_or_default().trim_matches('`');
        let key = if key == "timestamp" {
            "last_updated_timestamp"
        } else {
            key
        };
        let ascending = match words.next().map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => true,
            Some("DESC") => false,
            _ => {
                return Err(MlflowError::invalid(format!(
                    "Invalid order_by clause '{text}'."
                )))
            }
        };
        let Some(key) = allowed.iter().find(|k| **k == key) else {
            let shown: String = key.chars().take(100).collect();
            return Err(MlflowError::invalid(format!(
                "Invalid order by key '{shown}' specified. Valid keys are {allowed:?}"
            )));
        };
        if words.next().is_some() || order.iter().any(|(k, _)| k == key) {
            return Err(MlflowError::invalid(format!(
                "Invalid order_by clause '{text}'."
            )));
        }
        order.push((key, ascending));
    }
    Ok(order)
}

/// Orders two views by `order`'s attributes.
fn compare(order: &[(&'static str, bool)], a: &RunView, b: &RunView) -> Ordering {
    for (key, ascending) in order {
        let (x, y) = (a.attributes.get(key), b.attributes.get(key));
        let ordering = match (x, y) {
            (Some(x), Some(y)) => literal_cmp(x, y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let ordering = if *ascending {
            ordering
        } else {
            ordering.reverse()
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// A text attribute for a filter or an order.
fn text(value: &str) -> Literal {
    Literal::Text(value.to_owned())
}

/// A numeric attribute for a filter or an order.
fn number(value: i64) -> Literal {
    Literal::Number(value as f64)
}
