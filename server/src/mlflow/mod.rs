//! The MLflow tracking REST API 2.0 (`/api/2.0/mlflow/...` and `/ajax-api/2.0/mlflow/...`), so
//! training code using the official `mlflow` client logs to millrace unchanged.

mod args;
mod error;
mod experiments;
mod filter;
mod runs;
mod search;

use app::auth::CurrentUser;
use app::db::users::User;
use app::state::AppState;
use args::Args;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use error::MlflowError;
use serde_json::json;

/// The MLflow routes, under both prefixes the MLflow server uses.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/mlflow/{*call}", any(dispatch))
        .route("/ajax-api/2.0/mlflow/{*call}", any(dispatch))
        .route("/api/2.0/mlflow/runs/log-batch", any(log_batch))
        .route("/ajax-api/2.0/mlflow/runs/log-batch", any(log_batch))
        .route(
            "/api/3.0/mlflow/server-info",
            get(|| async {
                Json(json!({ "store_type": "SqlStore", "workspaces_enabled": false }))
            }),
        )
}

async fn dispatch(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    method: Method,
    Path(call): Path<String>,
    args: Result<Args, MlflowError>,
) -> Response {
    let user = match signed_in(user) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let result = match args {
        Ok(args) => call_endpoint(&state, &user, &method, &call, &args).await,
        Err(error) => Err(error),
    };
    respond(result)
}

/// `runs/log-batch` has its own route because its body is decoded into typed values rather
/// than [`Args`]: it carries a thousand points a call.
async fn log_batch(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    method: Method,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let user = match signed_in(user) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let result = match (method, body) {
        (Method::POST, Ok(body)) => runs::log_batch(&state, &user, &body).await,
        (Method::POST, Err(rejection)) => Err(MlflowError::invalid(rejection.body_text())),
        (method, _) => Err(not_supported(&method, "runs/log-batch")),
    };
    respond(result)
}

fn signed_in(user: Option<Extension<CurrentUser>>) -> Result<User, MlflowError> {
    match user {
        Some(Extension(CurrentUser(user))) => Ok(user),
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

fn not_supported(method: &Method, call: &str) -> MlflowError {
    MlflowError {
        code: "ENDPOINT_NOT_FOUND",
        message: format!("{method} {call} is not supported by millrace yet"),
    }
}

async fn call_endpoint(
    state: &AppState,
    user: &User,
    method: &Method,
    call: &str,
    args: &Args,
) -> Result<serde_json::Value, MlflowError> {
    let get = method == Method::GET;
    match (get, call) {
        (true, "experiments/get-by-name") => experiments::get_by_name(state, user, args).await,
        (true, "experiments/get") => experiments::get(state, user, args).await,
        (false, "experiments/create") => experiments::create(state, user, args).await,
        (false, "experiments/update") => experiments::update(state, user, args).await,
        (false, "experiments/delete") => experiments::set_deleted(state, user, args, true).await,
        (false, "experiments/restore") => experiments::set_deleted(state, user, args, false).await,
        (_, "experiments/search") => experiments::search(state, user, args).await,
        (false, "runs/create") => runs::create(state, user, args).await,
        (true, "runs/get") => runs::get(state, user, args).await,
        (false, "runs/update") => runs::update(state, user, args).await,
        (false, "runs/delete") => runs::set_deleted(state, user, args, true).await,
        (false, "runs/restore") => runs::set_deleted(state, user, args, false).await,
        (false, "runs/log-metric") => runs::log_metric(state, user, args).await,
        (false, "runs/log-parameter") => runs::log_param(state, user, args).await,
        (false, "runs/set-tag") => runs::set_tag(state, user, args).await,
        (false, "runs/delete-tag") => runs::delete_tag(state, user, args).await,
        (true, "metrics/get-history") => runs::history(state, user, args).await,
        (true, "metrics/get-history-bulk-interval") => runs::history_bulk(state, user, args).await,
        (false, "runs/search") => search::runs(state, user, args).await,
        _ => Err(not_supported(method, call)),
    }
}
