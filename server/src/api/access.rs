//! Extractors that find what a route names (`{uid}`, `{owner}/{project}`, a sweep's or a
//! pipeline run's `{id}`) and check that the caller may act on it, so a handler cannot forget
//! to ask (see `app::auth::access`).

use super::error::ApiError;
use app::auth::access::{self, Act};
use app::auth::Caller;
use app::db::{jobs::Job, pipelines::Run, projects::Project, sweeps::Sweep};
use app::error::AppError;
use app::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::collections::HashMap;

/// The caller of a request; 401 without one.
#[derive(Clone, Debug)]
pub struct Signed(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let caller = parts.extensions.get::<Caller>().cloned();
        caller
            .map(Self)
            .ok_or_else(|| AppError::Unauthorized.into())
    }
}

/// An instance admin who may write; 401 without a caller, 403 for anyone else. Checked before
/// the body is read, so nobody else learns what the route accepts.
#[derive(Clone, Debug)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Signed(caller) = Signed::from_request_parts(parts, state).await?;
        access::admin_only(&caller)?;
        Ok(Self(caller))
    }
}

/// The job `{uid}`, which the caller may read.
#[derive(Clone, Debug)]
pub struct ReadJob(pub Job);

/// The job `{uid}`, which the caller may change (log to, tag, end): its project's owner and
/// members, or the job's own token.
#[derive(Clone, Debug)]
pub struct WriteJob(pub Job);

/// The job `{uid}`, which the caller may act on for its project (cancel, rerun): the project's
/// owner and members, not a job's token.
#[derive(Clone, Debug)]
pub struct ControlJob(pub Job);

/// The project `{owner}/{project}`, which the caller may read.
#[derive(Clone, Debug)]
pub struct ReadProject(pub Project);

/// The project `{owner}/{project}`, in which the caller may create tracked runs (a job's token
/// may, in its own project).
#[derive(Clone, Debug)]
pub struct RunsIn(pub Project);

/// The project `{owner}/{project}`, which the caller may change (queue jobs, start sweeps).
#[derive(Clone, Debug)]
pub struct WriteProject(pub Project);

/// The project `{owner}/{project}`, whose members the caller may choose: its owner or an admin.
#[derive(Clone, Debug)]
pub struct ManageProject(pub Project);

/// The sweep `{id}` and its project, which the caller may read.
#[derive(Clone, Debug)]
pub struct ReadSweep(pub Sweep, pub Project);

/// The sweep `{id}` and its project, which the caller may change (cancel it, clone it).
#[derive(Clone, Debug)]
pub struct WriteSweep(pub Sweep, pub Project);

/// The sweep with id `id` and its project, if `caller` may `act` on it.
pub async fn sweep(
    state: &AppState,
    caller: &Caller,
    id: i64,
    act: Act,
) -> Result<(Sweep, Project), ApiError> {
    let sweep = app::db::sweeps::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let project = access::project_by_id(&state.db, caller, sweep.project_id, act).await?;
    Ok((sweep, project))
}

async fn sweep_at(
    parts: &mut Parts,
    state: &AppState,
    act: Act,
) -> Result<(Sweep, Project), ApiError> {
    let (caller, id) = caller_and_id(parts, state).await?;
    sweep(state, &caller, id, act).await
}

/// The caller and the route's numeric `{id}`; 404 when it is not a number.
async fn caller_and_id(parts: &mut Parts, state: &AppState) -> Result<(Caller, i64), ApiError> {
    let Signed(caller) = Signed::from_request_parts(parts, state).await?;
    let params = params(parts, state).await?;
    let id = params.get("id").and_then(|id| id.parse().ok());
    Ok((caller, id.ok_or(AppError::NotFound)?))
}

/// The pipeline run `{id}` and its project, which the caller may read.
#[derive(Clone, Debug)]
pub struct ReadPipeline(pub Run, pub Project);

/// The pipeline run `{id}` and its project, which the caller may change (cancel it, rerun it).
#[derive(Clone, Debug)]
pub struct WritePipeline(pub Run, pub Project);

async fn pipeline_at(
    parts: &mut Parts,
    state: &AppState,
    act: Act,
) -> Result<(Run, Project), ApiError> {
    let (caller, id) = caller_and_id(parts, state).await?;
    let run = app::db::pipelines::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let project = access::project_by_id(&state.db, &caller, run.project_id, act).await?;
    Ok((run, project))
}

impl FromRequestParts<AppState> for ReadPipeline {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (run, project) = pipeline_at(parts, state, Act::Read).await?;
        Ok(Self(run, project))
    }
}

impl FromRequestParts<AppState> for WritePipeline {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (run, project) = pipeline_at(parts, state, Act::Write).await?;
        Ok(Self(run, project))
    }
}

impl FromRequestParts<AppState> for ReadSweep {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (sweep, project) = sweep_at(parts, state, Act::Read).await?;
        Ok(Self(sweep, project))
    }
}

impl FromRequestParts<AppState> for WriteSweep {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (sweep, project) = sweep_at(parts, state, Act::Write).await?;
        Ok(Self(sweep, project))
    }
}

/// The route's path parameters by name; 404 when they do not parse.
async fn params(parts: &mut Parts, state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(params)
}

async fn job(parts: &mut Parts, state: &AppState, act: Act) -> Result<Job, ApiError> {
    let Signed(caller) = Signed::from_request_parts(parts, state).await?;
    let params = params(parts, state).await?;
    let uid = params.get("uid").ok_or(AppError::NotFound)?;
    Ok(access::job(&state.db, &caller, uid, act).await?)
}

async fn project(parts: &mut Parts, state: &AppState, act: Act) -> Result<Project, ApiError> {
    let Signed(caller) = Signed::from_request_parts(parts, state).await?;
    let params = params(parts, state).await?;
    let (Some(owner), Some(name)) = (params.get("owner"), params.get("project")) else {
        return Err(AppError::NotFound.into());
    };
    Ok(access::project(&state.db, &caller, owner, name, act).await?)
}

/// Implements the extractor `$name` as a lookup by `$find` for `$act`.
macro_rules! checked {
    ($name:ident, $find:ident, $act:expr) => {
        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                $find(parts, state, $act).await.map(Self)
            }
        }
    };
}

checked!(ReadJob, job, Act::Read);
checked!(WriteJob, job, Act::WriteJob);
checked!(ControlJob, job, Act::Write);
checked!(ReadProject, project, Act::Read);
checked!(RunsIn, project, Act::CreateRun);
checked!(WriteProject, project, Act::Write);
checked!(ManageProject, project, Act::Manage);
