//! The MLflow tracking and model registry REST API 2.0 (`/api/2.0/mlflow/...` and
//! `/ajax-api/2.0/mlflow/...`), so training code using the official `mlflow` client logs to and
//! registers models in millrace unchanged.

mod args;
pub mod artifacts;
mod error;
mod experiment_order;
mod experiments;
mod filter;
mod history;
mod inputs;
mod like;
pub mod links;
mod logged_models;
mod registry;
mod runs;
mod search;

use crate::monitoring::{Ingested, Route};
use app::auth::access::{Act, Policy};
use app::auth::Caller;
use app::state::AppState;
use args::Args;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{MatchedPath, Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use error::MlflowError;
use serde_json::{json, Value};

/// One MLflow endpoint millrace serves: its method (`None`: GET or POST), its path after
/// `2.0/mlflow/` (a `{name}` segment stands for any one segment, passed on as argument `name`),
/// and who may call it. Dispatch serves only what [`ENDPOINTS`] lists, so the permission test,
/// which walks it, reaches every endpoint.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// GET or POST; `None` for both.
    pub method: Option<Method>,
    /// The call, e.g. `runs/log-batch`.
    pub call: &'static str,
    /// Who may call it.
    pub policy: Policy,
}

const fn endpoint(method: Option<Method>, call: &'static str, policy: Policy) -> Endpoint {
    Endpoint {
        method,
        call,
        policy,
    }
}

const GET: Option<Method> = Some(Method::GET);
const POST: Option<Method> = Some(Method::POST);
const PATCH: Option<Method> = Some(Method::PATCH);
const DELETE: Option<Method> = Some(Method::DELETE);
const READ: Policy = Policy::Project(Act::Read);
const WRITE_RUN: Policy = Policy::Project(Act::WriteJob);
const WRITE: Policy = Policy::Project(Act::Write);
const MANAGE: Policy = Policy::Project(Act::Manage);

/// Every MLflow endpoint served.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(GET, "experiments/get-by-name", READ),
    endpoint(GET, "experiments/get", READ),
    endpoint(POST, "experiments/create", Policy::Writer),
    endpoint(POST, "experiments/update", MANAGE),
    endpoint(POST, "experiments/delete", MANAGE),
    endpoint(POST, "experiments/restore", MANAGE),
    endpoint(POST, "experiments/set-experiment-tag", WRITE),
    endpoint(POST, "experiments/delete-experiment-tag", WRITE),
    endpoint(None, "experiments/search", Policy::Signed),
    endpoint(POST, "experiments/search-datasets", READ),
    endpoint(POST, "runs/create", Policy::Project(Act::CreateRun)),
    endpoint(GET, "runs/get", READ),
    endpoint(POST, "runs/update", WRITE_RUN),
    endpoint(POST, "runs/delete", WRITE_RUN),
    endpoint(POST, "runs/restore", WRITE_RUN),
    endpoint(POST, "runs/log-metric", WRITE_RUN),
    endpoint(POST, "runs/log-parameter", WRITE_RUN),
    endpoint(POST, "runs/set-tag", WRITE_RUN),
    endpoint(POST, "runs/delete-tag", WRITE_RUN),
    endpoint(POST, "runs/log-batch", WRITE_RUN),
    endpoint(POST, "runs/log-inputs", WRITE_RUN),
    endpoint(GET, "metrics/get-history", READ),
    endpoint(GET, "metrics/get-history-bulk-interval", READ),
    endpoint(GET, "metrics/get-history-bulk", READ),
    endpoint(POST, "runs/search", READ),
    endpoint(GET, "artifacts/list", READ),
    endpoint(POST, "runs/outputs", WRITE_RUN),
    endpoint(POST, "logged-models", WRITE_RUN),
    endpoint(POST, "logged-models/search", READ),
    endpoint(GET, "logged-models/{model_id}", READ),
    endpoint(PATCH, "logged-models/{model_id}", WRITE_RUN),
    endpoint(DELETE, "logged-models/{model_id}", WRITE_RUN),
    endpoint(PATCH, "logged-models/{model_id}/tags", WRITE_RUN),
    endpoint(DELETE, "logged-models/{model_id}/tags/{tag_key}", WRITE_RUN),
    endpoint(POST, "logged-models/{model_id}/params", WRITE_RUN),
    endpoint(POST, "registered-models/create", Policy::Writer),
    endpoint(GET, "registered-models/get", READ),
    endpoint(POST, "registered-models/rename", WRITE),
    endpoint(PATCH, "registered-models/update", WRITE),
    endpoint(DELETE, "registered-models/delete", WRITE),
    endpoint(GET, "registered-models/search", Policy::Signed),
    endpoint(None, "registered-models/get-latest-versions", READ),
    endpoint(POST, "registered-models/set-tag", WRITE),
    endpoint(DELETE, "registered-models/delete-tag", WRITE),
    endpoint(POST, "registered-models/alias", WRITE),
    endpoint(DELETE, "registered-models/alias", WRITE),
    endpoint(GET, "registered-models/alias", READ),
    endpoint(POST, "model-versions/create", WRITE),
    endpoint(GET, "model-versions/get", READ),
    endpoint(PATCH, "model-versions/update", WRITE),
    endpoint(POST, "model-versions/transition-stage", WRITE),
    endpoint(DELETE, "model-versions/delete", WRITE),
    endpoint(GET, "model-versions/search", Policy::Signed),
    endpoint(GET, "model-versions/get-download-uri", READ),
    endpoint(POST, "model-versions/set-tag", WRITE),
    endpoint(DELETE, "model-versions/delete-tag", WRITE),
];

/// The endpoint `method call` names, if it is served, with the arguments its path holds.
fn served(method: &Method, call: &str) -> Option<(&'static Endpoint, Vec<(&'static str, String)>)> {
    ENDPOINTS.iter().find_map(|e| {
        let method_fits = e
            .method
            .as_ref()
            .map_or(matches!(*method, Method::GET | Method::POST), |m| {
                m == method
            });
        if !method_fits {
            return None;
        }
        path_arguments(e.call, call).map(|found| (e, found))
    })
}

/// The `{name}` segments of `pattern` as `call` fills them, if it matches.
fn path_arguments(pattern: &'static str, call: &str) -> Option<Vec<(&'static str, String)>> {
    let (mut wanted, mut given) = (pattern.split('/'), call.split('/'));
    let mut found = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(found),
            (Some(want), Some(part)) => {
                match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    Some(name) if !part.is_empty() => found.push((name, part.to_owned())),
                    None if want == part => {}
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The MLflow routes, under both prefixes the MLflow server uses; JSON reads carry validators.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/mlflow/{*call}", any(dispatch))
        .route("/ajax-api/2.0/mlflow/{*call}", any(dispatch))
        .route("/api/2.0/mlflow/runs/log-batch", any(log_batch))
        .route("/ajax-api/2.0/mlflow/runs/log-batch", any(log_batch))
        .route("/api/3.0/mlflow/{*call}", any(unknown))
        .route("/ajax-api/3.0/mlflow/{*call}", any(unknown))
        .merge(artifacts::router())
        .route(
            "/api/3.0/mlflow/server-info",
            get(|| async {
                Json(json!({ "store_type": "SqlStore", "workspaces_enabled": false }))
            }),
        )
        .layer(axum::middleware::from_fn(crate::validators::etag))
}

async fn dispatch(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    method: Method,
    matched: MatchedPath,
    Path(call): Path<String>,
    args: Result<Args, MlflowError>,
) -> Response {
    let caller = match signed_in(caller) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let Some((endpoint, found)) = served(&method, &call) else {
        return respond(Err(not_supported(&method, &call)));
    };
    // Operators see each MLflow call as a route of its own, not all as `{*call}`.
    let route = Route(matched.as_str().replace("{*call}", endpoint.call));
    let result = match args {
        Ok(mut args) => {
            for (name, value) in found {
                args.0.insert(name.to_owned(), Value::String(value));
            }
            call_endpoint(&state, &caller, endpoint, &args).await
        }
        Err(error) => Err(error),
    };
    // The one other call that stores a point (log-batch counts its own).
    let ingested = usize::from(result.is_ok() && endpoint.call == "runs/log-metric");
    (
        Extension(route),
        Extension(Ingested(ingested)),
        respond(result),
    )
        .into_response()
}

/// `runs/log-batch` has its own route because its body is decoded into typed values rather
/// than [`Args`]: it carries a thousand points a call.
async fn log_batch(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    method: Method,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = match signed_in(caller) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let result = match (method, body) {
        (Method::POST, Ok(body)) => runs::log_batch(&state, &caller, &body).await,
        (Method::POST, Err(rejection)) => Err(MlflowError::invalid(rejection.body_text())),
        (method, _) => Err(not_supported(&method, "runs/log-batch")),
    };
    match result {
        Ok(points) => (Extension(Ingested(points)), Json(json!({}))).into_response(),
        Err(error) => error.into_response(),
    }
}

fn signed_in(caller: Option<Extension<Caller>>) -> Result<Caller, MlflowError> {
    match caller {
        Some(Extension(caller)) => Ok(caller),
        None => Err(MlflowError {
            code: "UNAUTHENTICATED",
            message: "set MLFLOW_TRACKING_TOKEN to a millrace API token".into(),
        }),
    }
}

fn respond(result: Result<serde_json::Value, MlflowError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Any other path under MLflow's prefixes: MLflow's JSON error, which its client reads, rather
/// than the app's HTML 404 page.
async fn unknown(method: Method, Path(call): Path<String>) -> Response {
    not_supported(&method, &call).into_response()
}

fn not_supported(method: &Method, call: &str) -> MlflowError {
    MlflowError {
        code: "ENDPOINT_NOT_FOUND",
        message: format!("{method} {call} is not supported by millrace yet"),
    }
}

/// Runs `endpoint`, which [`served`] found for the request.
async fn call_endpoint(
    state: &AppState,
    caller: &Caller,
    endpoint: &Endpoint,
    args: &Args,
) -> Result<serde_json::Value, MlflowError> {
    let method = endpoint.method.as_ref();
    match endpoint.call {
        "experiments/get-by-name" => experiments::get_by_name(state, caller, args).await,
        "experiments/get" => experiments::get(state, caller, args).await,
        "experiments/create" => experiments::create(state, caller, args).await,
        "experiments/update" => experiments::update(state, caller, args).await,
        "experiments/delete" => experiments::set_deleted(state, caller, args, true).await,
        "experiments/restore" => experiments::set_deleted(state, caller, args, false).await,
        "experiments/search" => experiments::search(state, caller, args).await,
        "experiments/set-experiment-tag" => experiments::set_tag(state, caller, args).await,
        "experiments/delete-experiment-tag" => experiments::delete_tag(state, caller, args).await,
        "runs/create" => runs::create(state, caller, args).await,
        "runs/get" => runs::get(state, caller, args).await,
        "runs/update" => runs::update(state, caller, args).await,
        "runs/delete" => runs::set_deleted(state, caller, args, true).await,
        "runs/restore" => runs::set_deleted(state, caller, args, false).await,
        "runs/log-metric" => runs::log_metric(state, caller, args).await,
        "runs/log-parameter" => runs::log_param(state, caller, args).await,
        "runs/set-tag" => runs::set_tag(state, caller, args).await,
        "runs/delete-tag" => runs::delete_tag(state, caller, args).await,
        "metrics/get-history" => runs::history(state, caller, args).await,
        "metrics/get-history-bulk-interval" => runs::history_bulk(state, caller, args).await,
        "metrics/get-history-bulk" => history::bulk(state, caller, args).await,
        "runs/search" => search::runs(state, caller, args).await,
        "runs/log-inputs" => inputs::log(state, caller, args).await,
        "experiments/search-datasets" => inputs::search(state, caller, args).await,
        "artifacts/list" => artifacts::list_for_run(state, caller, args).await,
        "runs/outputs" => logged_models::log_outputs(state, caller, args).await,
        "logged-models" => logged_models::create(state, caller, args).await,
        "logged-models/search" => logged_models::search(state, caller, args).await,
        "logged-models/{model_id}" if method == Some(&Method::GET) => {
            logged_models::get(state, caller, args).await
        }
        "logged-models/{model_id}" if method == Some(&Method::PATCH) => {
            logged_models::finalize(state, caller, args).await
        }
        "logged-models/{model_id}" => logged_models::delete(state, caller, args).await,
        "logged-models/{model_id}/tags" => logged_models::set_tags(state, caller, args).await,
        "logged-models/{model_id}/tags/{tag_key}" => {
            logged_models::delete_tag(state, caller, args).await
        }
        "logged-models/{model_id}/params" => logged_models::log_params(state, caller, args).await,
        "registered-models/create" => registry::create_model(state, caller, args).await,
        "registered-models/get" => registry::get_model(state, caller, args).await,
        "registered-models/rename" => registry::rename_model(state, caller, args).await,
        "registered-models/update" => registry::update_model(state, caller, args).await,
        "registered-models/delete" => registry::delete_model(state, caller, args).await,
        "registered-models/search" => registry::search_models(state, caller, args).await,
        "registered-models/get-latest-versions" => {
            registry::latest_versions(state, caller, args).await
        }
        "registered-models/set-tag" => registry::set_model_tag(state, caller, args).await,
        "registered-models/delete-tag" => registry::delete_model_tag(state, caller, args).await,
        "registered-models/alias" if method == POST.as_ref() => {
            registry::set_alias(state, caller, args).await
        }
        "registered-models/alias" if method == DELETE.as_ref() => {
            registry::delete_alias(state, caller, args).await
        }
        "registered-models/alias" => registry::get_by_alias(state, caller, args).await,
        "model-versions/create" => registry::create_version(state, caller, args).await,
        "model-versions/get" => registry::get_version(state, caller, args).await,
        "model-versions/update" => registry::update_version(state, caller, args).await,
        "model-versions/transition-stage" => registry::transition_stage(state, caller, args).await,
        "model-versions/delete" => registry::delete_version(state, caller, args).await,
        "model-versions/search" => registry::search_versions(state, caller, args).await,
        "model-versions/get-download-uri" => registry::download_uri(state, caller, args).await,
        "model-versions/set-tag" => registry::set_version_tag(state, caller, args).await,
        "model-versions/delete-tag" => registry::delete_version_tag(state, caller, args).await,
        other => Err(MlflowError::invalid(format!(
            "{other} is listed but not wired"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_in_braces_become_arguments() {
        let (endpoint, found) = served(&Method::DELETE, "logged-models/m-1/tags/stage").unwrap();
        assert_eq!(endpoint.call, "logged-models/{model_id}/tags/{tag_key}");
        assert_eq!(
            found,
            [
                ("model_id", "m-1".to_owned()),
                ("tag_key", "stage".to_owned())
            ]
        );
        // The method picks among endpoints of one path; a fixed segment beats a placeholder.
        let (get, _) = served(&Method::GET, "logged-models/m-1").unwrap();
        assert_eq!(
            (get.method.clone(), get.call),
            (GET, "logged-models/{model_id}")
        );
        let (search, found) = served(&Method::POST, "logged-models/search").unwrap();
        assert_eq!((search.call, found.len()), ("logged-models/search", 0));
        assert!(served(&Method::GET, "logged-models//tags").is_none());
        assert!(served(&Method::GET, "logged-models/m-1/extra").is_none());
        assert!(served(&Method::PUT, "logged-models/m-1").is_none());
    }
}
