//! Model versions: create (from a logged model, a run or another version), get, describe,
//! stages, tags, delete, where their files are, and search.

use super::models::{aliased, versions_json, visible_models};
use super::*;
use crate::mlflow::logged_models;
use crate::mlflow::runs::job_by_id;
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
/// The logged model tag listing the registered versions made from it, as MLflow names it.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

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
    numbered(state, model, &given).await
}

/// Version `given` (a number, as text) of `model`.
async fn numbered(
    state: &AppState,
    model: &RegisteredModel,
    given: &str,
) -> Result<ModelVersion, MlflowError> {
    let shown: String = given.chars().take(100).collect();
    let number: i64 = given.trim().parse().map_err(|_| {
        MlflowError::invalid(format!(
            "Parameter 'version' must be an integer, got '{shown}'."
        ))
    })?;
    store::version(&state.db, model.id, number)
        .await?
        .ok_or_else(|| {
            MlflowError::missing(format!(
                "Model Version (name={}, version={shown}) not found",
                model.name
            ))
        })
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
    /// The project of the run or logged model it comes from, when that is one of this server's
    /// that the caller may read.
    project: Option<i64>,
    /// The run id as given (MLflow keeps any).
    run_id: String,
    /// That run, when it is one of this server's that the caller may read.
    job: Option<i64>,
    /// The logged model it registers.
    logged: Option<LoggedModel>,
    /// Where its files are: the logged model's or the copied version's folder, else the source.
    storage_location: String,
}

/// MLflow's refusal of a source with relative parts, which could reach the server's own files.
fn relative_source(source: &str) -> MlflowError {
    let shown: String = source.chars().take(200).collect();
    MlflowError::invalid(format!(
        "Invalid model version source: '{shown}'. If supplying a source as an http, https, local \
         file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided \
         without relative path references present. Please provide an absolute path."
    ))
}

/// MLflow's refusal of a source that `key` (run_id or model_id) does not contain.
fn unrelated_source(source: &str, key: &str) -> MlflowError {
    let shown: String = source.chars().take(200).collect();
    MlflowError::invalid(format!(
        "Invalid model version source: '{shown}'. The {key} request parameter must identify \
         the resource that contains the source."
    ))
}

/// Checks `source` as MLflow's server does: no relative or NUL parts however often it is
/// percent-encoded, no local paths (millrace keeps no files a client could name by path), and a
/// `runs:/` source only with the `run_id` it names and no `model_id`.
fn check_source(source: &str, run_id: &str, model_given: bool) -> Result<(), MlflowError> {
    let key = if model_given { "model_id" } else { "run_id" };
    let mut decoded = source.to_owned();
    // Bounded: each round removes at least one escape.
    for _ in 0..16 {
        let next = form_urlencoded::parse(format!("x={}", decoded.replace('&', "%26")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if decoded.contains('\0')
        || decoded
            .split(['/', '\\'])
            .any(|part| part == ".." || part == ".")
    {
        return Err(relative_source(source));
    }
    let scheme = decoded
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|s| {
            s.len() > 1
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
    match scheme {
        None | Some("file") => {
            let shown: String = source.chars().take(200).collect();
            Err(MlflowError::invalid(format!(
                "Invalid model version source: '{shown}'. To use a local path as a model version \
                 source, the {key} request parameter has to be specified and the local path has \
                 to be contained within the artifact directory of the run specified by the {key}."
            )))
        }
        Some("runs") => match source.strip_prefix("runs:/") {
            Some(rest)
                if !model_given
                    && !rest.starts_with('/')
                    && rest.split('/').next() == Some(run_id) =>
            {
                Ok(())
            }
            _ => Err(unrelated_source(source, key)),
        },
        Some(_) => Ok(()),
    }
}

/// The registered model and version `path` names after `models:/` (`NAME/N` or `NAME@ALIAS`),
/// which the caller must be able to read; `source` is the whole URI, for the error.
async fn named_by_uri(
    state: &AppState,
    caller: &Caller,
    path: &str,
    source: &str,
) -> Result<(RegisteredModel, ModelVersion), MlflowError> {
    let neither = || {
        MlflowError::invalid(format!(
            "source '{}' names neither a logged model (models:/m-...) nor a version \
             (models:/NAME/N or models:/NAME@ALIAS)",
            source.chars().take(200).collect::<String>()
        ))
    };
    if let Some((name, number)) = path.split_once('/') {
        let model = registered(state, caller, name, Act::Read).await?;
        let version = numbered(state, &model, number).await?;
        return Ok((model, version));
    }
    let (name, alias) = path.split_once('@').ok_or_else(neither)?;
    let model = registered(state, caller, name, Act::Read).await?;
    let (version, _) = aliased(state, &model, alias).await?;
    Ok((model, version))
}

/// Finds what `source`, `run_id` and `model_id` name. A logged model (`models:/m-...` or
/// `model_id`) and a version (`models:/NAME/N`) must be ones the caller may read; a run id is
/// kept as given, as MLflow keeps it, and links the version to the run only when it names one
/// the caller may read (one they may not is treated like a run elsewhere, so nothing tells the
/// two apart).
async fn origin(
    state: &AppState,
    caller: &Caller,
    args: &Args,
    source: &str,
) -> Result<Origin, MlflowError> {
    let models_path = source
        .strip_prefix("models:/")
        .map(|p| p.trim_end_matches('/'));
    let logged_uid = match args.opt_text("model_id")?.filter(|m| !m.is_empty()) {
        Some(uid) => Some(uid),
        None => models_path.filter(|p| p.starts_with("m-") && !p.contains('/')),
    };
    let mut run_id = args.opt_text("run_id")?.unwrap_or_default().to_owned();
    check_source(source, &run_id, logged_uid.is_some())?;
    let logged = match logged_uid {
        Some(uid) => Some(
            logged_models::model(state, caller, uid, Act::Read, false)
                .await?
                .0,
        ),
        None => None,
    };
    let mut storage_location = source.to_owned();
    let mut project = logged.as_ref().map(|m| m.project_id);
    if let Some(model) = &logged {
        if run_id.is_empty() {
            run_id = model.job_uid.clone().unwrap_or_default();
        }
        match models_path {
            Some(path) if path == model.uid => {
                storage_location = logged_models::artifact_uri(model)
            }
            Some(_) => return Err(unrelated_source(source, "model_id")),
            None => {}
        }
    } else if let Some(path) = models_path {
        let (model, copied) = named_by_uri(state, caller, path, source).await?;
        storage_location = copied.storage_location;
        if run_id.is_empty() {
            run_id = copied.run_uid.unwrap_or_default();
        }
        project = model.project_id;
    }
    let job = match run_id.as_str() {
        "" => None,
        uid => match job_by_id(state, caller, uid, Act::Read).await {
            Ok(job) => Some(job),
            Err(error) if error.code == "RESOURCE_DOES_NOT_EXIST" => None,
            Err(error) => return Err(error),
        },
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
        run_id,
        job: job.map(|j| j.id),
        logged,
        storage_location,
    })
}

/// `POST model-versions/create`: the next version of the model, from a logged model, a run or
/// files elsewhere. A model holds versions of one project: its first version from a run or
/// logged model of this server places it there; until then it stays its creator's.
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
        (Some(home), _) => Some(home),
        (None, Some(from)) => Some(
            project_for_id(state, caller, &from.to_string(), Act::Write)
                .await?
                .id,
        ),
        (None, None) => None,
    };
    let mut listed = match &origin.logged {
        Some(logged) => registered_as(state, logged).await?,
        None => Vec::new(),
    };
    let mut tx = state.db.begin().await?;
    if let Some(home) = home {
        if store::place(&mut tx, model.id, home).await? != home {
            tx.rollback().await?;
            return Err(MlflowError::invalid(format!(
                "registered model '{}' was just given versions from another experiment",
                model.name
            )));
        }
    }
    let version = store::create_version(
        &mut tx,
        model.id,
        &NewVersion {
            source,
            storage_location: &origin.storage_location,
            run_id: &origin.run_id,
            job: origin.job,
            logged_model: origin.logged.as_ref().map(|m| m.id),
            run_link,
            description,
            creator: caller.user.id,
            tags: &tags,
        },
    )
    .await?;
    if let Some(logged) = &origin.logged {
        let entry = json!({ "name": model.name, "version": version.version });
        if !listed.contains(&entry) {
            listed.push(entry);
        }
        let tag = (
            MODEL_VERSIONS_TAG.to_owned(),
            python_json(&Value::Array(listed)),
        );
        app::db::logged_models::set_tags(&mut tx, logged.id, &[tag]).await?;
    }
    tx.commit().await?;
    answer(state, &model, version.version).await
}

/// `value` as Python's `json.dumps` writes it (`{"a": 1, "b": [2, 3]}`), which is how MLflow's
/// server and client write the `mlflow.modelVersions` tag and how its tests compare it.
fn python_json(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(key, item)| format!("{}: {}", Value::from(key.as_str()), python_json(item)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// The logged model's `mlflow.modelVersions` tag as it is: the JSON list of the registered
/// versions MLflow keeps on a logged model, so it shows what it was registered as.
async fn registered_as(state: &AppState, logged: &LoggedModel) -> Result<Vec<Value>, MlflowError> {
    let details = app::db::logged_models::details(&state.db, &[logged.id])
        .await?
        .remove(&logged.id)
        .unwrap_or_default();
    Ok(details
        .tags
        .iter()
        .find(|(key, _)| key == MODEL_VERSIONS_TAG)
        .and_then(|(_, value)| serde_json::from_str(value).ok())
        .unwrap_or_default())
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
    let (model, version) = named_version(state, caller, args, Act::Write).await?;
    store::delete_version(&state.db, model.id, version.id).await?;
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
    // MLflow's tiebreaks: by name, then the newest version first.
    for (tiebreak, ascending) in [("name", true), ("version_number", false)] {
        if !order.iter().any(|(key, _)| *key == tiebreak) {
            order.push((tiebreak, ascending));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_checked_as_mlflow_checks_them() {
        for relative in [
            "mlflow-artifacts://host:9000/models/../../../",
            "s3://bucket/models/%2E%2E/other",
            "http://host/api/2.0/mlflow-artifacts/artifacts/%252e%252e/x",
            "https://host/a\0b",
        ] {
            let refused = check_source(relative, "", false).unwrap_err().message;
            assert!(
                refused.contains("without relative path"),
                "{relative}: {refused}"
            );
        }
        for local in ["/etc/passwd", "path/to/model", "file:///tmp/model"] {
            let refused = check_source(local, "r1", false).unwrap_err().message;
            assert!(refused.contains("local path"), "{local}: {refused}");
        }
        assert!(check_source("runs:/r1/model", "r1", false).is_ok());
        for wrong in ["runs:/r2/model", "runs://host/r1/model"] {
            let refused = check_source(wrong, "r1", false).unwrap_err().message;
            assert!(
                refused.contains("The run_id request parameter"),
                "{refused}"
            );
        }
        let with_model = check_source("runs:/r1/model", "r1", true)
            .unwrap_err()
            .message;
        assert!(
            with_model.contains("The model_id request parameter"),
            "{with_model}"
        );
        let local_model = check_source("file:///m", "", true).unwrap_err().message;
        assert!(
            local_model.contains("the model_id request parameter"),
            "{local_model}"
        );
        assert!(check_source("models:/m-1", "", true).is_ok());
        assert!(check_source("s3://bucket/models/churn", "", false).is_ok());
        assert!(check_source("mlflow-artifacts:/1/r1/artifacts/model", "", false).is_ok());
    }

    #[test]
    fn tags_are_written_as_pythons_json_dumps_writes_them() {
        let listed = json!([{ "name": "churn", "version": 1 }, { "name": "a\"b", "version": "2" }]);
        assert_eq!(
            python_json(&listed),
            r#"[{"name": "churn", "version": 1}, {"name": "a\"b", "version": "2"}]"#
        );
    }
}
