//! MLflow experiments, which are millrace projects: `name` is the caller's project, `owner/name`
//! another user's; experiment "0" ("Default") is the caller's project `Default`.

use super::args::Args;
use super::error::MlflowError;
use super::experiment_order::ExperimentOrder;
use app::auth::access::{self, may_write, Act};
use app::auth::Caller;
use app::db::users::User;
use app::db::{self, project_tags, projects::Project};
use app::error::AppError;
use app::limits::{check_length, MAX_EXPERIMENT_NAME, MAX_KEY, MAX_TAG_VALUE};
use app::state::AppState;
use serde_json::{json, Value};

/// The id MLflow clients fall back to when no experiment is set.
pub const DEFAULT_ID: &str = "0";
/// The name of the project that experiment [`DEFAULT_ID`] stands for, one per user.
pub const DEFAULT_NAME: &str = "Default";

/// The project behind an experiment id, if the caller may `act` on it.
pub async fn project_for_id(
    state: &AppState,
    caller: &Caller,
    id: &str,
    act: Act,
) -> Result<Project, MlflowError> {
    let missing = || MlflowError::missing(format!("no experiment with id '{id}'"));
    let project = if id == DEFAULT_ID {
        default_project(state, caller).await?
    } else {
        let id: i64 = id.parse().map_err(|_| missing())?;
        db::projects::find_visible_by_id(&state.db, caller.user.id, id)
            .await?
            .ok_or_else(missing)?
    };
    match access::allow(&state.db, caller, &project, act, None).await {
        Err(AppError::NotFound) => Err(missing()),
        allowed => Ok(allowed.map(|()| project)?),
    }
}

/// The caller's project `Default`, made on first use by a caller who may write.
async fn default_project(state: &AppState, caller: &Caller) -> Result<Project, MlflowError> {
    let user = &caller.user;
    if let Some(project) =
        db::projects::find_visible(&state.db, user.id, &user.name, DEFAULT_NAME).await?
    {
        return Ok(project);
    }
    may_write(caller)?;
    // Two first calls at once may both try to create it; the loser finds the winner's.
    let _ = db::projects::create(
        &state.db,
        user.id,
        DEFAULT_NAME,
        "Runs logged without an experiment.",
        false,
    )
    .await;
    db::projects::find_visible(&state.db, user.id, &user.name, DEFAULT_NAME)
        .await?
        .ok_or_else(|| MlflowError::missing("the Default experiment could not be created"))
}

/// An experiment name checked for length; MLflow takes any other text.
fn checked_name(name: &str) -> Result<&str, MlflowError> {
    check_length("the experiment name", name, MAX_EXPERIMENT_NAME, false)
        .map_err(MlflowError::invalid)?;
    Ok(name)
}

/// The project the caller knows as experiment `name`: one of theirs shown by that name, else
/// `owner/rest` as the project of `owner` (another user, or the caller) shown as `rest`.
async fn find_by_name(
    state: &AppState,
    user: &User,
    name: &str,
) -> Result<Option<Project>, MlflowError> {
    let db = &state.db;
    if let Some(own) =
        db::projects::find_visible_by_shown_name(db, user.id, &user.name, name).await?
    {
        return Ok(Some(own));
    }
    match name.split_once('/') {
        Some((owner, rest)) => {
            Ok(db::projects::find_visible_by_shown_name(db, user.id, owner, rest).await?)
        }
        None => Ok(None),
    }
}

/// The project name and title for experiment name `shown` among `owner`'s projects: a slug of
/// it that no project of theirs has (the name itself when it is one), titled with the name as
/// given when the two differ.
async fn name_and_title(
    state: &AppState,
    owner: i64,
    shown: &str,
) -> Result<(String, String), MlflowError> {
    let slug = db::projects::free_name(&state.db, owner, shown).await?;
    let title = if slug.as_str() == shown { "" } else { shown };
    Ok((slug.as_str().to_owned(), title.to_owned()))
}

/// The experiment as MLflow shows it, with its tags; `id` overrides the project id (for "0").
pub fn experiment_json(
    project: &Project,
    user: &User,
    id: Option<&str>,
    tags: &[(String, String)],
) -> Value {
    let name = if project.owner == user.name {
        project.shown_name().to_owned()
    } else {
        format!("{}/{}", project.owner, project.shown_name())
    };
    let id = id.map_or_else(|| project.id.to_string(), str::to_owned);
    json!({
        "experiment_id": id,
        "name": name,
        "artifact_location": format!("mlflow-artifacts:/{}", project.id),
        "lifecycle_stage": super::runs::lifecycle_stage(project.archived),
        "creation_time": project.created_ms,
        "last_update_time": project.updated_ms,
        "tags": tags.iter().map(|(key, value)| json!({ "key": key, "value": value })).collect::<Vec<_>>(),
    })
}

/// The experiment `project` as MLflow shows it, its tags read from the store.
async fn experiment_with_tags(
    state: &AppState,
    project: &Project,
    user: &User,
    id: Option<&str>,
) -> Result<Value, MlflowError> {
    let mut tags = project_tags::of(&state.db, &[project.id]).await?;
    let tags = tags.remove(&project.id).unwrap_or_default();
    Ok(experiment_json(project, user, id, &tags))
}

/// A tag's key and value, checked as MLflow's limits say.
fn checked_tag<'a>(key: &'a str, value: &'a str) -> Result<(&'a str, &'a str), MlflowError> {
    check_length("the tag key", key, MAX_KEY, false).map_err(MlflowError::invalid)?;
    check_length("the tag value", value, MAX_TAG_VALUE, true).map_err(MlflowError::invalid)?;
    Ok((key, value))
}

/// `GET experiments/get-by-name`.
pub async fn get_by_name(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let user = &caller.user;
    let name = args.str("experiment_name")?;
    let missing = || MlflowError::missing(format!("no experiment named '{name}'"));
    let project = if name == DEFAULT_NAME {
        default_project(state, caller).await?
    } else {
        find_by_name(state, user, checked_name(name)?)
            .await?
            .ok_or_else(missing)?
    };
    match access::allow(&state.db, caller, &project, Act::Read, None).await {
        Err(AppError::NotFound) => Err(missing()),
        allowed => allowed.map_err(MlflowError::from),
    }?;
    let experiment = experiment_with_tags(state, &project, user, None).await?;
    Ok(json!({ "experiment": experiment }))
}

/// `GET experiments/get`.
pub async fn get(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let id = args.str("experiment_id")?;
    let project = project_for_id(state, caller, id, Act::Read).await?;
    let shown_id = (id == DEFAULT_ID).then_some(DEFAULT_ID);
    let experiment = experiment_with_tags(state, &project, &caller.user, shown_id).await?;
    Ok(json!({ "experiment": experiment }))
}

/// `POST experiments/create`: a project of the caller's.
pub async fn create(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    may_write(caller)?;
    let user = &caller.user;
    let name = checked_name(args.str("name")?)?;
    // millrace keeps the files itself, so a location is read only to refuse a malformed one.
    args.opt_text("artifact_location")?;
    let tags = args
        .checked_list("tags")?
        .iter()
        .map(|tag| {
            let text = |field: &str| tag.get(field).and_then(Value::as_str).unwrap_or_default();
            checked_tag(text("key"), text("value"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // `me/name` is the caller's `name`; `other/name` of another user is theirs to make.
    let shown = match name.split_once('/') {
        Some((owner, rest)) if owner == user.name => rest,
        Some((owner, _)) if db::users::find_by_name(&state.db, owner).await?.is_some() => {
            return Err(MlflowError::invalid(format!(
                "you can create experiments only as {}/NAME",
                user.name
            )));
        }
        _ => name,
    };
    let exists = || MlflowError::exists(format!("experiment '{name}' already exists"));
    if db::projects::find_visible_by_shown_name(&state.db, user.id, &user.name, shown)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let (project, title) = name_and_title(state, user.id, checked_name(shown)?).await?;
    // Two creates at once may both find the name free; the store's unique key refuses one.
    let id = db::projects::create_titled(&state.db, user.id, &project, &title)
        .await
        .map_err(|_| exists())?;
    for (key, value) in tags {
        project_tags::set(&state.db, id, key, value).await?;
    }
    Ok(json!({ "experiment_id": id.to_string() }))
}

/// `POST experiments/set-experiment-tag`.
pub async fn set_tag(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let project = project_for_id(state, caller, args.str("experiment_id")?, Act::Write).await?;
    let (key, value) = checked_tag(args.str("key")?, args.opt_str("value").unwrap_or_default())?;
    project_tags::set(&state.db, project.id, key, value).await?;
    Ok(json!({}))
}

/// `POST experiments/delete-experiment-tag`.
pub async fn delete_tag(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let id = args.str("experiment_id")?;
    let project = project_for_id(state, caller, id, Act::Write).await?;
    let key = args.str("key")?;
    if !project_tags::delete(&state.db, project.id, key).await? {
        return Err(MlflowError::missing(format!(
            "no tag '{key}' on experiment '{id}'"
        )));
    }
    Ok(json!({}))
}

/// `POST experiments/delete` (the project is archived) and `experiments/restore`.
pub async fn set_deleted(
    state: &AppState,
    caller: &Caller,
    args: &Args,
    deleted: bool,
) -> Result<Value, MlflowError> {
    let id = args.str("experiment_id")?;
    let project = project_for_id(state, caller, id, Act::Manage).await?;
    db::projects::set_archived(&state.db, project.id, deleted).await?;
    Ok(json!({}))
}

/// `POST experiments/update`: renames the experiment (its owner or an admin).
pub async fn update(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let id = args.str("experiment_id")?;
    let project = project_for_id(state, caller, id, Act::Manage).await?;
    let new_name = checked_name(args.str("new_name")?)?;
    if new_name == project.shown_name() {
        return Ok(json!({}));
    }
    let exists = || MlflowError::exists(format!("experiment '{new_name}' already exists"));
    let owner = &project.owner;
    if db::projects::find_visible_by_shown_name(&state.db, caller.user.id, owner, new_name)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let (name, title) = name_and_title(state, project.owner_id, new_name).await?;
    db::projects::rename(&state.db, project.id, &name, &title)
        .await
        .map_err(|_| exists())?;
    Ok(json!({}))
}

/// The name an experiment answer shows.
fn name_of(experiment: &Value) -> &str {
    experiment["name"].as_str().unwrap_or_default()
}

/// `POST|GET experiments/search`: the experiments the caller can see, filtered by name and
/// lifecycle, in `order_by` (newest first by default), paged.
pub async fn search(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let user = &caller.user;
    // MLflow always has the Default experiment; millrace makes a caller's on first use, so a
    // search (the client's first call, often) finds it too.
    if may_write(caller).is_ok() {
        default_project(state, caller).await?;
    }
    let archived = super::search::view_type(args.0.get("view_type"))?;
    let filter = super::filter::parse(args.opt_str("filter").unwrap_or_default())
        .map_err(|e| MlflowError::invalid(format!("invalid filter: {e}")))?;
    let max = args.max_results(1000, 50_000)?;
    let offset = args.offset()?;
    let order = ExperimentOrder::parse(args.list("order_by"))?;
    let mut budget = super::like::Budget::for_search();
    let mut found: Vec<(&Project, Value)> = Vec::new();
    let projects = access::readable_projects(&state.db, caller).await?;
    let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
    let mut tags = project_tags::of(&state.db, &ids).await?;
    for project in projects.iter().rev() {
        if archived.is_some_and(|a| i64::from(a) != project.archived) {
            continue;
        }
        let tags = tags.remove(&project.id).unwrap_or_default();
        let experiment = experiment_json(project, user, None, &tags);
        let mut view = super::filter::RunView {
            tags: tags.into_iter().collect(),
            ..Default::default()
        };
        let name = name_of(&experiment).to_owned();
        view.attributes
            .insert("name", super::filter::Literal::Text(name));
        view.attributes.insert(
            "creation_time",
            super::filter::Literal::Number(project.created_ms as f64),
        );
        let kept = match &filter {
            Some(filter) => filter
                .matches(&view, &mut budget)
                .map_err(|_| super::search::too_costly())?,
            None => true,
        };
        if kept {
            found.push((project, experiment));
        }
    }
    found.sort_by(|a, b| order.compare((a.0, name_of(&a.1)), (b.0, name_of(&b.1))));
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(offset)
        .take(max as usize)
        .map(|(_, experiment)| experiment)
        .collect();
    let mut answer = json!({ "experiments": page });
    if offset + (max as usize) < total {
        answer["next_page_token"] = json!((offset + max as usize).to_string());
    }
    Ok(answer)
}
