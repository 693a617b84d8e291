//! The web links the official MLflow client prints after each run
//! (`http://host/#/experiments/3/runs/ID`): the page's script turns the fragment, which never
//! reaches a server, into a path, and these routes send that path on to the project or the job.

use super::experiments::project_for_id;
use app::auth::access::{self, Act};
use app::auth::Caller;
use app::state::AppState;
use app::view_query::ViewPath;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};

/// `/experiments/{id}` and `/experiments/{id}/runs/{run}`, as MLflow's web UI names them.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/experiments/{id}", get(experiment))
        .route("/experiments/{id}/runs/{run}", get(run))
}

/// The project behind experiment `id`.
async fn experiment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match project_for_id(&state, &caller, &id, Act::Read).await {
        Ok(project) => to(ViewPath {
            user: Some(project.owner),
            project: Some(project.name),
            job: None,
        }),
        Err(_) => crate::middleware::not_found_page(&state.leptos_options),
    }
}

/// The job behind run `run` (the experiment id in the link is not needed to find it).
async fn run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, run)): Path<(String, String)>,
) -> Response {
    let job = access::job(&state.db, &caller, &run, Act::Read).await;
    let Some((owner, project, number)) = job.ok().and_then(|job| {
        let (owner, project) = job.project.split_once('/')?;
        Some((owner.to_owned(), project.to_owned(), job.number))
    }) else {
        return crate::middleware::not_found_page(&state.leptos_options);
    };
    to(ViewPath {
        user: Some(owner),
        project: Some(project),
        job: Some(number.to_string()),
    })
}

fn to(view: ViewPath) -> Response {
    Redirect::to(&view.href()).into_response()
}
