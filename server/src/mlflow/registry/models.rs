//! Registered models: create, get, rename, describe, delete, tags, aliases, search.

use super::*;
use app::auth::access;
use app::db::registry::{Tagged, Unplaced};
use std::collections::HashMap;

/// Models a search answers when `max_results` is not given, as MLflow's.
const DEFAULT_RESULTS: i64 = 100;
/// Most models a search answers at once, as MLflow's.
const MAX_RESULTS: i64 = 1000;
/// What a model filter may name without `attributes.`.
const ATTRIBUTES: &[&str] = &["name", "creation_timestamp", "last_updated_timestamp"];

/// `models` in MLflow's shape, in the order given.
async fn models_json(
    state: &AppState,
    models: &[RegisteredModel],
) -> Result<Vec<Value>, MlflowError> {
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let versions = store::versions(&state.db, &ids).await?;
    let mut tags = store::tags(&state.db, Tagged::Model, &ids).await?;
    let mut aliases = store::aliases(&state.db, &ids).await?;
    let mut by_model: HashMap<i64, Vec<ModelVersion>> = HashMap::new();
    for version in versions {
        by_model.entry(version.model_id).or_default().push(version);
    }
    // The tags of every model's latest versions in one query, not one per model.
    let latest: Vec<Vec<&ModelVersion>> = models
        .iter()
        .map(|m| {
            by_model
                .get(&m.id)
                .map_or_else(Vec::new, |v| latest_per_stage(v))
        })
        .collect();
    let latest_ids: Vec<i64> = latest.iter().flatten().map(|v| v.id).collect();
    let mut version_tags = store::tags(&state.db, Tagged::Version, &latest_ids).await?;
    let mut found = Vec::with_capacity(models.len());
    for (model, latest) in models.iter().zip(latest) {
        let aliases = aliases.remove(&model.id).unwrap_or_default();
        let latest: Vec<Value> = latest
            .into_iter()
            .map(|v| {
                let tags = version_tags.remove(&v.id).unwrap_or_default();
                version_json(v, &tags, &store::naming(&aliases, v.version))
            })
            .collect();
        let tags = tags.remove(&model.id).unwrap_or_default();
        found.push(model_json(model, &latest, &tags, &aliases));
    }
    Ok(found)
}

/// `versions` in MLflow's shape, each with its tags and the `aliases` of its model naming it.
pub(super) async fn versions_json(
    state: &AppState,
    versions: &[&ModelVersion],
    aliases: &[(String, i64)],
) -> Result<Vec<Value>, MlflowError> {
    let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    let mut tags = store::tags(&state.db, Tagged::Version, &ids).await?;
    Ok(versions
        .iter()
        .map(|v| {
            let tags = tags.remove(&v.id).unwrap_or_default();
            version_json(v, &tags, &store::naming(aliases, v.version))
        })
        .collect())
}

/// `{"registered_model": ...}` for `model` as it now is.
async fn answer(state: &AppState, model: &RegisteredModel) -> Result<Value, MlflowError> {
    let model = store::find(&state.db, &model.name)
        .await?
        .unwrap_or_else(|| model.clone());
    let shown = models_json(state, &[model]).await?.remove(0);
    Ok(json!({ "registered_model": shown }))
}

/// `POST registered-models/create`: a model with no versions yet, its creator's until its first
/// version places it in a project.
pub async fn create_model(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    may_write(caller)?;
    let name = checked_name(args, "name")?;
    let description = description(args)?;
    let tags = tags(args)?;
    let mut tx = state.db.begin().await?;
    let made = store::create(&mut tx, name, caller.user.id, description, &tags).await?;
    tx.commit().await?;
    if made.is_none() {
        return Err(MlflowError::exists(format!(
            "Registered Model (name={name}) already exists."
        )));
    }
    let model = registered(state, caller, name, Act::Read).await?;
    answer(state, &model).await
}

/// `GET registered-models/get`.
pub async fn get_model(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Read).await?;
    answer(state, &model).await
}

/// `POST registered-models/rename`.
pub async fn rename_model(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    let new_name = checked_name(args, "new_name")?;
    if new_name != model.name && !store::rename(&state.db, model.id, new_name).await? {
        return Err(MlflowError::exists(format!(
            "Registered Model (name={new_name}) already exists."
        )));
    }
    let renamed = registered(state, caller, new_name, Act::Read).await?;
    answer(state, &renamed).await
}

/// `PATCH registered-models/update`: its description.
pub async fn update_model(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    store::describe_model(&state.db, model.id, description(args)?).await?;
    answer(state, &model).await
}

/// `DELETE registered-models/delete`: the model, its versions, tags and aliases; the files stay
/// with the runs and logged models they came from.
pub async fn delete_model(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    store::delete(&state.db, model.id).await?;
    Ok(json!({}))
}

/// `POST registered-models/set-tag`.
pub async fn set_model_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    let tag = one_tag(args)?;
    let mut tx = state.db.begin().await?;
    store::set_tags(&mut tx, Tagged::Model, model.id, &[tag]).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// `DELETE registered-models/delete-tag`: a tag it does not have is no error, as in MLflow.
pub async fn delete_model_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    store::delete_tag(&state.db, Tagged::Model, model.id, args.str("key")?).await?;
    Ok(json!({}))
}

/// `GET|POST registered-models/get-latest-versions`: the newest version in each of `stages`
/// (every stage when none are named).
pub async fn latest_versions(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Read).await?;
    let stages: Vec<&'static str> = args
        .texts("stages")?
        .into_iter()
        .map(canonical_stage)
        .collect::<Result<_, _>>()?;
    let versions = store::versions(&state.db, &[model.id]).await?;
    let latest: Vec<&ModelVersion> = latest_per_stage(&versions)
        .into_iter()
        .filter(|v| stages.is_empty() || stages.contains(&v.stage.as_str()))
        .collect();
    let aliases = store::aliases(&state.db, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    Ok(json!({ "model_versions": versions_json(state, &latest, &aliases).await? }))
}

/// The `alias` argument, checked as MLflow checks alias names.
fn alias(args: &Args) -> Result<&str, MlflowError> {
    let alias = args.str("alias")?;
    if alias.is_empty() {
        return Err(MlflowError::invalid(
            "Registered model alias name cannot be empty.",
        ));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        let shown: String = alias.chars().take(100).collect();
        return Err(MlflowError::invalid(format!(
            "Invalid alias name: '{shown}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    check_length("the alias", alias, MAX_ALIAS, false).map_err(MlflowError::invalid)?;
    Ok(alias)
}

/// `POST registered-models/alias`: `alias` names `version` from now on.
pub async fn set_alias(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    let alias = alias(args)?;
    if alias.eq_ignore_ascii_case("latest") {
        return Err(MlflowError::invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let reserved = alias.len() > 1
        && alias.starts_with(['v', 'V'])
        && alias[1..].bytes().all(|b| b.is_ascii_digit());
    if reserved {
        return Err(MlflowError::invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    let version = version_of(state, &model, args).await?;
    let mut tx = state.db.begin().await?;
    store::set_alias(&mut tx, model.id, alias, version.id).await?;
    tx.commit().await?;
    Ok(json!({}))
}

/// `DELETE registered-models/alias`.
pub async fn delete_alias(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Write).await?;
    store::delete_alias(&state.db, model.id, alias(args)?).await?;
    Ok(json!({}))
}

/// `GET registered-models/alias`: the version `alias` names.
pub async fn get_by_alias(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let model = registered(state, caller, checked_name(args, "name")?, Act::Read).await?;
    let (version, aliases) = aliased(state, &model, alias(args)?).await?;
    let shown = versions_json(state, &[&version], &aliases).await?.remove(0);
    Ok(json!({ "model_version": shown }))
}

/// The version of `model` that `alias` names, with all the model's aliases.
pub(super) async fn aliased(
    state: &AppState,
    model: &RegisteredModel,
    alias: &str,
) -> Result<(ModelVersion, Vec<(String, i64)>), MlflowError> {
    let aliases = store::aliases(&state.db, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    let missing = || MlflowError::missing(format!("Registered model alias {alias} not found."));
    let (_, number) = aliases
        .iter()
        .find(|(a, _)| a == alias)
        .ok_or_else(missing)?;
    let version = store::version(&state.db, model.id, *number)
        .await?
        .ok_or_else(missing)?;
    Ok((version, aliases))
}

/// `GET registered-models/search`: the models the caller may read, by name unless `order_by`
/// says otherwise.
pub async fn search_models(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let filter = parsed_filter(args, ATTRIBUTES)?;
    let mut order = order_terms(
        args,
        &["name", "creation_timestamp", "last_updated_timestamp"],
    )?;
    if !order.iter().any(|(key, _)| *key == "name") {
        order.push(("name", true));
    }
    let max = args.max_results(DEFAULT_RESULTS, MAX_RESULTS)?;
    let offset = args.offset()?;
    let models = visible_models(state, caller).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut tags = store::tags(&state.db, Tagged::Model, &ids).await?;
    let mut budget = Budget::for_search();
    let mut found = Vec::new();
    for model in models {
        let view = RunView {
            tags: tags
                .remove(&model.id)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            attributes: [
                ("name", text(&model.name)),
                ("creation_timestamp", number(model.created_ms)),
                ("last_updated_timestamp", number(model.updated_ms)),
            ]
            .into(),
            missing_tag_differs: true,
            ..RunView::default()
        };
        if kept(filter.as_ref(), &view, &mut budget)? {
            found.push((model, view));
        }
    }
    found.sort_by(|a, b| compare(&order, &a.1, &b.1));
    let end = (offset + max as usize).min(found.len());
    let shown: Vec<RegisteredModel> = found
        .iter()
        .take(end)
        .skip(offset)
        .map(|(m, _)| m.clone())
        .collect();
    let mut answer = json!({ "registered_models": models_json(state, &shown).await? });
    if end < found.len() {
        answer["next_page_token"] = json!(end.to_string());
    }
    Ok(answer)
}

/// The registered models `caller` may read: those of the projects they read, and their own that
/// have no project yet (every one of those, for an admin; none, for a job's token).
pub(super) async fn visible_models(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<RegisteredModel>, MlflowError> {
    let projects = access::readable_projects(&state.db, caller).await?;
    let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
    let unplaced = if caller.job_token().is_some() {
        // A job's token sees its own project only, never its user's models without one.
        Unplaced::No
    } else if caller.is_admin() {
        Unplaced::All
    } else {
        Unplaced::MadeBy(caller.user.id)
    };
    Ok(store::visible(&state.db, &ids, unplaced).await?)
}
