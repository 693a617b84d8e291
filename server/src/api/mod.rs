//! millrace's own REST API under `/api/v1`: the route table.

pub mod access;
pub mod error;
pub mod jobs;
pub mod logs;
mod me;
pub mod members;
pub mod metrics;
pub mod pipelines;
pub mod pools;
pub mod projects;
pub mod runner;
pub mod runs;
pub mod sweeps;
pub mod upload;

use app::auth::access::{Act, Policy};
use app::error::AppError;
use app::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use error::ApiError;

/// Largest request body: 10,000 points or log lines with room to spare.
pub const BODY_LIMIT: usize = 16 << 20;

/// One route of the API: its method and path (under `/api/v1`), who may call it, and its
/// handler. The permission test walks [`routes`] and calls each as every kind of caller.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{name}` parameters, under `/api/v1`.
    pub path: &'static str,
    /// Who may call it; the handler's extractors enforce it.
    pub policy: Policy,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new<H, T>(method: Method, path: &'static str, policy: Policy, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        Self {
            method,
            path,
            policy,
            handler: on(filter, handler),
        }
    }
}

fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, p: Policy, h: H) -> Route {
    Route::new(Method::GET, path, p, h)
}

fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, p: Policy, h: H) -> Route {
    Route::new(Method::POST, path, p, h)
}

fn put<H: Handler<T, AppState>, T: 'static>(path: &'static str, p: Policy, h: H) -> Route {
    Route::new(Method::PUT, path, p, h)
}

fn delete<H: Handler<T, AppState>, T: 'static>(path: &'static str, p: Policy, h: H) -> Route {
    Route::new(Method::DELETE, path, p, h)
}

/// Every route of `/api/v1`.
pub fn routes() -> Vec<Route> {
    use Policy::{Admin, Project, Runner, Signed, Writer};
    let read = Project(Act::Read);
    let write = Project(Act::Write);
    let write_job = Project(Act::WriteJob);
    vec![
        get("/me", Signed, me::show),
        post("/projects", Writer, projects::create),
        get("/projects/{owner}/{project}", read, projects::show),
        get("/users/{owner}/projects", Signed, projects::list),
        post(
            "/projects/{owner}/{project}/jobs",
            Project(Act::CreateRun),
            jobs::create,
        ),
        get(
            "/projects/{owner}/{project}/jobs/{job}",
            read,
            jobs::show_in_project,
        ),
        get("/projects/{owner}/{project}/members", read, members::list),
        put(
            "/projects/{owner}/{project}/members/{user}",
            Project(Act::Manage),
            members::add,
        ),
        delete(
            "/projects/{owner}/{project}/members/{user}",
            Project(Act::Manage),
            members::remove,
        ),
        get("/jobs/{uid}", read, jobs::show),
        post("/jobs/{uid}/status", write_job, jobs::set_status),
        post("/jobs/{uid}/metrics", write_job, metrics::append),
        post("/jobs/{uid}/logs", write_job, logs::append),
        get("/jobs/{uid}/logs", read, runs::logs),
        post("/projects/{owner}/{project}/apply", write, runs::apply),
        post("/jobs/{uid}/cancel", write, runs::cancel),
        get("/projects/{owner}/{project}/sweeps", read, sweeps::list),
        post("/projects/{owner}/{project}/sweeps", write, sweeps::create),
        get("/sweeps/{id}", read, sweeps::show),
        post("/sweeps/{id}/cancel", write, sweeps::cancel),
        post("/sweeps/{id}/clone", write, sweeps::clone_form),
        post("/sweeps/{id}/clones", write, sweeps::clone),
        get(
            "/projects/{owner}/{project}/pipelines",
            read,
            pipelines::list,
        ),
        post(
            "/projects/{owner}/{project}/pipelines",
            write,
            pipelines::create,
        ),
        get("/pipelines/{id}", read, pipelines::show),
        post("/pipelines/{id}/cancel", write, pipelines::cancel),
        post("/pipelines/{id}/rerun", write, pipelines::rerun),
        post("/jobs/{uid}/rerun", write, runs::rerun),
        get("/jobs/{uid}/artifacts", read, runs::artifacts),
        get("/jobs/{uid}/artifacts/{*path}", read, runs::artifact),
        get("/jobs/{uid}/zip", read, runs::zip_all),
        get("/jobs/{uid}/zip/{*path}", read, runs::zip_folder),
        put(
            "/jobs/{uid}/artifacts/{*path}",
            write_job,
            runs::put_artifact,
        ),
        // Uploads stream their bodies to disk and enforce their own limits (see `upload`).
        post("/snapshots", Writer, runs::upload_snapshot),
        get("/events", read, crate::events::stream),
        get("/events/mine", Signed, crate::events::stream_mine),
        get("/pools", Signed, pools::list),
        put("/pools/{name}", Admin, pools::apply),
        post("/runner/register", Runner, runner::register),
        post("/runner/lease", Runner, runner::lease),
        post("/runner/heartbeat", Runner, runner::heartbeat),
        post("/runner/jobs/{uid}/started", Runner, runner::started),
        post("/runner/jobs/{uid}/output", Runner, runner::output),
        post("/runner/jobs/{uid}/finish", Runner, runner::finish),
        put(
            "/runner/jobs/{uid}/artifacts/{*path}",
            Runner,
            runner::upload_artifact,
        ),
        get("/runner/jobs/{uid}/inputs", Runner, runner::inputs),
        get(
            "/runner/jobs/{uid}/inputs/{index}/{*path}",
            Runner,
            runner::input_file,
        ),
        get("/runner/snapshots/{sha}", Runner, runner::snapshot),
    ]
}

/// The `/api/v1` routes; unknown paths answer 404 in the API's error shape, JSON reads carry
/// validators.
pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler)
        })
        .route_layer(axum::middleware::from_fn(crate::monitoring::mark_route))
        .fallback(|| async { ApiError::from(AppError::NotFound) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(crate::validators::etag))
}
