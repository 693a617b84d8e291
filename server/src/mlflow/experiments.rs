//! MLflow experiments, which are millrace projects: `name` is the caller's project, `owner/name`
//! another user's; experiment "0" ("Default") is the caller's project `Default`.

use super::args::Args;
use super::error::MlflowError;
use app::auth::access::{self, may_write, Act};
use app::auth::Caller;
use app::db::users::User;
use app::db::{self, projects::Project};
use app::error::AppError;
use app::limits::{check_length, MAX_EXPERIMENT_NAME};
use app::model::Name;
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

/// Splits an experiment name into owner and project, checking the project name.
fn owner_and_name<'a>(user: &'a User, name: &'a str) -> Result<(&'a str, &'a str), MlflowError> {
    check_length("the experiment name", name, MAX_EXPERIMENT_NAME, false)
        .map_err(MlflowError::invalid)?;
    let (owner, project) = name.split_once('/').unwrap_or((user.name.as_str(), name));
    Name::parse(project, Name::MAX_PROJECT).map_err(|e| {
        MlflowError::invalid(format!(
            "experiment name '{name}': {e} (millrace names projects like URLs)"
        ))
    })?;
    Ok((owner, project))
}

/// The experiment as MLflow shows it; `id` overrides the project id (for "0").
pub fn experiment_json(project: &Project, user: &User, id: Option<&str>) -> Value {
    let name = if project.owner == user.name {
        project.name.clone()
    } else {
        format!("{}/{}", project.owner, project.name)
    };
    let id = id.map_or_else(|| project.id.to_string(), str::to_owned);
    json!({
        "experiment_id": id,
        "name": name,
        "artifact_location": format!("mlflow-artifacts:/{}", project.id),
        "lifecycle_stage": super::runs::lifecycle_stage(project.archived),
        "creation_time": project.created_ms,
        "last_update_time": project.updated_ms,
        "tags": [],
    })
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
        let (owner, project) = owner_and_name(user, name)?;
        db::projects::find_visible(&state.db, user.id, owner, project)
            .await?
            .ok_or_else(missing)?
    };
    match access::allow(&state.db, caller, &project, Act::Read, None).await {
        Err(AppError::NotFound) => Err(missing()),
        allowed => allowed.map_err(MlflowError::from),
    }?;
    Ok(json!({ "experiment": experiment_json(&project, user, None) }))
}

/// `GET experiments/get`.
pub async fn get(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let id = args.str("experiment_id")?;
    let project = project_for_id(state, caller, id, Act::Read).await?;
    let shown_id = (id == DEFAULT_ID).then_some(DEFAULT_ID);
    Ok(json!({ "experiment": experiment_json(&project, &caller.user, shown_id) }))
}

/// `POST experiments/create`: a project of the caller's.
pub async fn create(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    may_write(caller)?;
    let user = &caller.user;
    let name = args.str("name")?;
    let (owner, project) = owner_and_name(user, name)?;
    if owner != user.name {
        return Err(MlflowError::invalid(format!(
            "you can create experiments only as {}/NAME",
            user.name
        )));
    }
    if db::projects::find_visible(&state.db, user.id, owner, project)
        .await?
        .is_some()
    {
        return Err(MlflowError::exists(format!(
            "experiment '{name}' already exists"
        )));
    }
    let id = db::projects::create(&state.db, user.id, project, "", false)
        .await
        .map_err(|_| MlflowError::exists(format!("experiment '{name}' already exists")))?;
    Ok(json!({ "experiment_id": id.to_string() }))
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
    let new_name = args.str("new_name")?;
    let (_, name) = owner_and_name(&caller.user, new_name)?;
    db::projects::rename(&state.db, project.id, name)
        .await
        .map_err(|_| MlflowError::exists(format!("experiment '{new_name}' already exists")))?;
    Ok(json!({}))
}

/// `POST|GET experiments/search`: the experiments the caller can see, filtered by name and
/// lifecycle, newest first, paged.
pub async fn search(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let user = &caller.user;
    let archived = super::search::view_type(args.0.get("view_type"))?;
    let filter = super::filter::parse(args.opt_str("filter").unwrap_or_default())
        .map_err(|e| MlflowError::invalid(format!("invalid filter: {e}")))?;
    let max = args.opt_i64("max_results")?.unwrap_or(1000);
    if !(1..=50_000).contains(&max) {
        return Err(MlflowError::invalid(
            "max_results must be between 1 and 50000",
        ));
    }
    let offset = args.offset()?;
    let mut budget = super::like::Budget::for_search();
    let mut found: Vec<Value> = Vec::new();
    for project in access::readable_projects(&state.db, caller)
        .await?
        .iter()
        .rev()
    {
        if archived.is_some_and(|a| i64::from(a) != project.archived) {
            continue;
        }
        let experiment = experiment_json(project, user, None);
        let mut view = super::filter::RunView::default();
        let name = experiment["name"].as_str().unwrap_or_default().to_owned();
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
            found.push(experiment);
        }
    }
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(max as usize)
        .cloned()
        .collect();
    let mut answer = json!({ "experiments": page });
    if offset + (max as usize) < found.len() {
        answer["next_page_token"] = json!((offset + max as usize).to_string());
    }
    Ok(answer)
}
