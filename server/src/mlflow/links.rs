//! The web links the official MLflow client prints after each run
//! (`http://host/#/experiments/3/runs/ID`): the page's script turns the fragment, which never
//! reaches a server, into a path, and these routes send that path on to the project or the job.

use super::experiments::{project_for_id, DEFAULT_ID, DEFAULT_NAME};
use app::auth::access::{self, Act};
use app::auth::Caller;
use app::db;
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
    let project = if id == DEFAULT_ID {
        // MLflow's API makes the caller's Default project on first use; a link is a GET, which
        // any page can make a signed-in browser send, so it only finds one.
        let user = &caller.user;
        db::projects::find_visible(&state.db, user.id, &user.name, DEFAULT_NAME)
            .await
            .ok()
            .flatten()
    } else {
        project_for_id(&state, &caller, &id, Act::Read).await.ok()
    };
    match project {
        Some(project) => to(ViewPath {
            user: Some(project.owner),
            project: Some(project.name),
            job: None,
        }),
        None => crate::middleware::not_found_page(&state.leptos_options),
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
