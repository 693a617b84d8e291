//! Model versions: create (from a logged model, a run or another version), get, describe,
//! stages, tags, delete, where their files are, and search.

use super::models::{versions_json, visible_models};
use super::*;
use crate::mlflow::logged_models;
use crate::mlflow::runs::{self, job_by_id};
use app::db::logged_models::LoggedModel;
use app::db::registry::{NewVersion, Tagged};
use std::collections::HashMap;

/// Versions a search answers when `max_results` is not given, as MLflow's.
const DEFAULT_RESULTS: i64 = 10_000;
/// Most versions a search answers at once.
const MAX_RESULTS: i64 = 200_000;
/// What a version filter may name without `attributes.`.
const ATTRIBUTES: &[&str] = &[
    "name",
    "version_number",
    "run_id",
    "source_path",
    "model_id",
    "current_stage",
    "creation_timestamp",
    "last_updated_timestamp",
];
/// Longest source URI and run link.
const MAX_SOURCE: usize = 5000;

/// The version the `version` argument names of `model`.
pub(super) async fn version_of(
    state: &AppState,
    model: &RegisteredModel,
    args: &Args,
) -> Result<ModelVersion, MlflowError> {
    let given = match args.0.get("version") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => return Err(crate::mlflow::args::missing("version")),
        Some(other) => other.to_string(),
    };
    let missing = || {
        let shown: String = given.chars().take(100).collect();
        MlflowError::missing(format!(
            "Model Version (name={}, version={shown}) not found",
            model.name
        ))
    };
    let number: i64 = given.trim().parse().map_err(|_| {
        let shown: String = given.chars().take(100).collect();
        MlflowError::invalid(format!(
            "Parameter 'version' must be an integer, got '{shown}'."
        ))
    })?;
    store::version(&state.db, model.id, number)
        .await?
        .ok_or_else(missing)
}

/// The model named by `name` and its version named by `version`, if the caller may `act`.
async fn named_version(
    state: &AppState,
    caller: &Caller,
    args: &Args,
    act: Act,
) -> Result<(RegisteredModel, ModelVersion), MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, act).await?;
    let version = version_of(state, &model, args).await?;
    Ok((model, version))
}

/// `{"model_version": ...}` for version `number` of `model` as it now is.
async fn answer(
    state: &AppState,
    model: &RegisteredModel,
    number: i64,
) -> Result<Value, MlflowError> {
    let version = store::version(&state.db, model.id, number)
        .await?
        .ok_or_else(|| MlflowError::missing("the version was deleted meanwhile"))?;
    let aliases = store::aliases(&state.db, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    let shown = versions_json(state, &[&version], &aliases).await?.remove(0);
    Ok(json!({ "model_version": shown }))
}

/// Where a new version's model comes from, as its source and arguments say.
struct Origin {
    /// The project of the run or model it comes from, if it comes from this server.
    project: Option<i64>,
    /// The run that produced it.
    job: Option<i64>,
    /// The logged model it registers.
    logged: Option<LoggedModel>,
    /// Where its files are.
    storage_location: String,
}

/// Finds what `source`, `run_id` and `model_id` name, each of which the caller must be able to
/// read: a logged model (`models:/m-...`), a run's folder (`runs:/RUN/path`), another version
/// (`models:/NAME/N`), or files elsewhere (any other URI, kept as given).
async fn origin(
    state: &AppState,
    caller: &Caller,
    args: &Args,
    source: &str,
) -> Result<Origin, MlflowError> {
    let models_path = source
        .strip_prefix("models:/")
        .map(|p| p.trim_end_matches('/'));
    if let Some(path) = models_path {
        let logged_model = path.starts_with("m-") && !path.contains('/');
        let version = path
            .split_once('/')
            .is_some_and(|(_, number)| number.parse::<i64>().is_ok());
        if !logged_model && !version {
            return Err(MlflowError::invalid(format!(
                "source '{}' names neither a logged model (models:/m-...) nor a version \
                 (models:/NAME/N)",
                source.chars().take(200).collect::<String>()
            )));
        }
    }
    let logged_uid = match args.opt_text("model_id")?.filter(|m| !m.is_empty()) {
        Some(uid) => Some(uid),
        None => models_path.filter(|p| p.starts_with("m-") && !p.contains('/')),
    };
    let logged = match logged_uid {
        Some(uid) => Some(
            logged_models::model(state, caller, uid, Act::Read, false)
                .await?
                .0,
        ),
        None => None,
    };
    let mut storage_location = source.to_owned();
    let mut run = args
        .opt_text("run_id")?
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let mut project = logged.as_ref().map(|m| m.project_id);
    if let Some(model) = &logged {
        run = run.or_else(|| model.job_uid.clone());
        if models_path == Some(model.uid.as_str()) {
            storage_location = logged_models::artifact_uri(model);
        }
    }
    if let Some((name, number)) = models_path.and_then(|p| p.split_once('/')) {
        let model = registered(state, caller, name, Act::Read).await?;
        let copied = version_of(
            state,
            &model,
            &Args(
                [("version".to_owned(), json!(number))]
                    .into_iter()
                    .collect(),
            ),
        )
        .await?;
        storage_location = copied.storage_location;
        run = run.or(copied.run_uid);
        project = project.or(model.project_id);
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (uid, path) = rest.split_once('/').unwrap_or((rest, ""));
        let job = job_by_id(state, caller, uid, Act::Read).await?;
        storage_location = format!("{}/{}", runs::artifact_uri(&job), path.trim_matches('/'));
        storage_location = storage_location.trim_end_matches('/').to_owned();
        run = run.or_else(|| Some(uid.to_owned()));
    }
    let job = match &run {
        Some(uid) => Some(job_by_id(state, caller, uid, Act::Read).await?),
        None => None,
    };
    if let (Some(job), Some(model)) = (&job, &logged) {
        if job.project_id != model.project_id {
            return Err(MlflowError::invalid(format!(
                "run '{}' and logged model '{}' are in different experiments",
                job.uid, model.uid
            )));
        }
    }
    Ok(Origin {
        project: project.or(job.as_ref().map(|j| j.project_id)),
        job: job.map(|j| j.id),
        logged,
        storage_location,
    })
}

/// `POST model-versions/create`: the next version of the model, from a logged model, a run or
/// files elsewhere. A model holds versions of one project: its first version places it there.
pub async fn create_version(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    let source = args.str("source")?;
    check_length("source", source, MAX_SOURCE, false).map_err(MlflowError::invalid)?;
    let run_link = args.opt_text("run_link")?.unwrap_or_default();
    check_length("run_link", run_link, MAX_SOURCE, true).map_err(MlflowError::invalid)?;
    let description = description(args)?;
    let tags = tags(args)?;
    let origin = origin(state, caller, args, source).await?;
    let home = match (model.project_id, origin.project) {
        (Some(home), Some(from)) if home != from => {
            return Err(MlflowError::invalid(format!(
                "registered model '{}' holds versions from experiment {home}; this model is \
                 from experiment {from}: register it under another name",
                model.name
            )))
        }
        (Some(home), _) => home,
        (None, Some(from)) => {
            project_for_id(state, caller, &from.to_string(), Act::Write)
                .await?
                .id
        }
        (None, None) => {
            return Err(MlflowError::invalid(format!(
                "the first version of '{}' must come from a run or a logged model of this \
                 server: give run_id or model_id, or a runs:/ or models:/ source",
                model.name
            )))
        }
    };
    let mut tx = state.db.begin().await?;
    if store::place(&mut tx, model.id, home).await? != home {
        tx.rollback().await?;
        return Err(MlflowError::invalid(format!(
            "registered model '{}' was just given versions from another experiment",
            model.name
        )));
    }
    let version = store::create_version(
        &mut tx,
        model.id,
        &NewVersion {
            source,
            storage_location: &origin.storage_location,
            job: origin.job,
            logged_model: origin.logged.as_ref().map(|m| m.id),
            run_link,
            description,
            creator: caller.user.id,
            tags: &tags,
        },
    )
    .await?;
    tx.commit().await?;
    answer(state, &model, version.version).await
}

/// `GET model-versions/get`.
pub async fn get_version(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (model, version) = named_version(state, caller, args, Act::Read).await?;
    answer(state, &model, version.version).await
}

/// `PATCH model-versions/update`: its description.
pub async fn update_version(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (model, version) = named_version(state, caller, args, Act::Write).await?;
    store::describe_version(&state.db, version.id, description(args)?).await?;
    answer(state, &model, version.version).await
}

/// `POST model-versions/transition-stage`: MLflow's legacy stages, still used by older scripts.
pub async fn transition_stage(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (model, version) = named_version(state, caller, args, Act::Write).await?;
    let stage = canonical_stage(args.str("stage")?)?;
    let archive = match args.0.get("archive_existing_versions") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(flag)) if flag == "true" || flag == "false" => flag == "true",
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "archive_existing_versions must be true or false, not {}",
                other.to_string().chars().take(100).collect::<String>()
            )))
        }
    };
    store::set_stage(&state.db, model.id, version.id, stage, archive).await?;
    answer(state, &model, version.version).await
}

/// `DELETE model-versions/delete`: the version, its tags and the aliases naming it.
pub async fn delete_version(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (_, version) = named_version(state, caller, args, Act::Write).await?;
    store::delete_version(&state.db, version.id).await?;
    Ok(json!({}))
}

/// `POST model-versions/set-tag`.
pub async fn set_version_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (_, version) = named_version(state, caller, args, Act::Write).await?;
    let tag = one_tag(args)?;
    let mut tx = state.db.begin().await?;
    store::set_tags(&mut tx, Tagged::Version, version.id, &[tag]).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// `DELETE model-versions/delete-tag`.
pub async fn delete_version_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (_, version) = named_version(state, caller, args, Act::Write).await?;
    store::delete_tag(&state.db, Tagged::Version, version.id, args.str("key")?).await?;
    Ok(json!({}))
}

/// `GET model-versions/get-download-uri`: where the client downloads the version's files from,
/// the artifact proxy for models logged here (which checks the caller's access again).
pub async fn download_uri(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let (_, version) = named_version(state, caller, args, Act::Read).await?;
    Ok(json!({ "artifact_uri": version.storage_location }))
}

/// `GET model-versions/search`: versions of the models the caller may read, newest change
/// first unless `order_by` says otherwise.
pub async fn search_versions(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let filter = parsed_filter(args, ATTRIBUTES)?;
    let mut order = order_terms(
        args,
        &[
            "name",
            "version_number",
            "creation_timestamp",
            "last_updated_timestamp",
        ],
    )?;
    if order.is_empty() {
        order.push(("last_updated_timestamp", false));
    }
    for tiebreak in ["name", "version_number"] {
        if !order.iter().any(|(key, _)| *key == tiebreak) {
            order.push((tiebreak, true));
        }
    }
    let max = args.max_results(DEFAULT_RESULTS, MAX_RESULTS)?;
    let offset = args.offset()?;
    let models = visible_models(state, caller).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let versions = store::versions(&state.db, &ids).await?;
    let version_ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    let tags = store::tags(&state.db, Tagged::Version, &version_ids).await?;
    let tags_of = |id: i64| tags.get(&id).map_or(&[][..], Vec::as_slice);
    let mut budget = Budget::for_search();
    let mut found = Vec::new();
    for version in &versions {
        let mut attributes: HashMap<&'static str, Literal> = [
            ("name", text(&version.name)),
            ("version_number", number(version.version)),
            ("source_path", text(&version.source)),
            ("current_stage", text(&version.stage)),
            ("creation_timestamp", number(version.created_ms)),
            ("last_updated_timestamp", number(version.updated_ms)),
        ]
        .into();
        if let Some(run) = &version.run_uid {
            attributes.insert("run_id", text(run));
        }
        if let Some(model) = &version.logged_model_uid {
            attributes.insert("model_id", text(model));
        }
        let view = RunView {
            tags: tags_of(version.id).iter().cloned().collect(),
            attributes,
            missing_tag_differs: true,
            ..RunView::default()
        };
        if kept(filter.as_ref(), &view, &mut budget)? {
            found.push((version, view));
        }
    }
    found.sort_by(|a, b| compare(&order, &a.1, &b.1));
    let end = (offset + max as usize).min(found.len());
    let shown: Vec<&ModelVersion> = found
        .iter()
        .take(end)
        .skip(offset)
        .map(|(v, _)| *v)
        .collect();
    let aliases = store::aliases(&state.db, &ids).await?;
    let page: Vec<Value> = shown
        .into_iter()
        .map(|v| {
            let named = aliases.get(&v.model_id).map_or(&[][..], Vec::as_slice);
            version_json(v, tags_of(v.id), &store::naming(named, v.version))
        })
        .collect();
    let mut answer = json!({ "model_versions": page });
    if end < found.len() {
        answer["next_page_token"] = json!(end.to_string());
    }
    Ok(answer)
}
