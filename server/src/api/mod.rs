//! millrace's own REST API under `/api/v1`: the route table.

pub mod error;
pub mod jobs;
pub mod logs;
mod me;
pub mod metrics;
pub mod runner;
pub mod runs;
pub mod sweeps;
pub mod upload;
pub mod visible_job;

use app::error::AppError;
use app::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use error::ApiError;

/// Largest request body: 10,000 points or log lines with room to spare.
pub const BODY_LIMIT: usize = 16 << 20;

/// The `/api/v1` routes; unknown paths answer 404 in the API's error shape.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::show))
        .route("/projects/{owner}/{project}/jobs", post(jobs::create))
        .route(
            "/projects/{owner}/{project}/jobs/{job}",
            get(jobs::show_in_project),
        )
        .route("/jobs/{uid}", get(jobs::show))
        .route("/jobs/{uid}/status", post(jobs::set_status))
        .route("/jobs/{uid}/metrics", post(metrics::append))
        .route("/jobs/{uid}/logs", post(logs::append).get(runs::logs))
        .route("/projects/{owner}/{project}/apply", post(runs::apply))
        .route("/jobs/{uid}/cancel", post(runs::cancel))
        .route(
            "/projects/{owner}/{project}/sweeps",
            get(sweeps::list).post(sweeps::create),
        )
        .route("/sweeps/{id}", get(sweeps::show))
        .route("/sweeps/{id}/cancel", post(sweeps::cancel))
        .route("/sweeps/{id}/clone", post(sweeps::clone_form))
        .route("/jobs/{uid}/rerun", post(runs::rerun))
        .route("/jobs/{uid}/artifacts", get(runs::artifacts))
        .route("/jobs/{uid}/artifacts/{*path}", get(runs::artifact))
        // Uploads stream their bodies to disk and enforce their own limits (see `upload`).
        .route("/snapshots", post(runs::upload_snapshot))
        .route("/events", get(crate::events::stream))
        .nest("/runner", runner_router())
        .fallback(|| async { ApiError::from(AppError::NotFound) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The runner protocol, authenticated by runner tokens (see [`runner::RunnerToken`]).
fn runner_router() -> Router<AppState> {
    Router::new()
        .route("/register", post(runner::register))
        .route("/lease", post(runner::lease))
        .route("/heartbeat", post(runner::heartbeat))
        .route("/jobs/{uid}/started", post(runner::started))
        .route("/jobs/{uid}/output", post(runner::output))
        .route("/jobs/{uid}/finish", post(runner::finish))
        .route(
            "/jobs/{uid}/artifacts/{*path}",
            put(runner::upload_artifact),
        )
        .route("/snapshots/{sha}", get(runner::snapshot))
}
