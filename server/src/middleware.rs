//! Authentication of every request: who is calling, and what to do when nobody is.

use crate::api::error::ApiError;
use app::auth::{self, Caller, Grant};
use app::db;
use app::error::AppError;
use app::state::AppState;
use app::url::encode_component;
use app::view_query::ViewPath;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Finds the caller (token or session) and stores it in the request; without one, the REST API
/// answers 401, pages redirect to the login page, and server functions decide for themselves.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    // Probes and scrapes carry no user's credentials; `/metrics` checks its own token.
    if is_static(path) || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let caller = match auth::caller_from_headers(&state.db, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if let Some(caller) = caller {
        if matches!(caller.grant, Grant::Job { .. }) && !job_token_reaches(path) {
            return ApiError::from(AppError::Forbidden(
                "a job's token works only on the tracking APIs (/api/v1 and MLflow's)".into(),
            ))
            .into_response();
        }
        if let Some(view) = ViewPath::from_pathname(path) {
            match view_exists(&state, &caller, &view).await {
                Ok(true) => {}
                Ok(false) => return not_found_page(&state.leptos_options),
                Err(error) => return ApiError::from(error).into_response(),
            }
        }
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    match Access::of(path) {
        Access::Api => ApiError::from(AppError::Unauthorized).into_response(),
        Access::Open => next.run(request).await,
        Access::Page => {
            let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!("/login?next={}", encode_component(wanted))).into_response()
        }
    }
}

/// Whether every level of a Miller view's path exists and `caller` may see it. Checked before
/// the page streams, because a streamed page has sent its status before its data is read.
async fn view_exists(state: &AppState, caller: &Caller, view: &ViewPath) -> sqlx::Result<bool> {
    let viewer = &caller.user;
    let db = &state.db;
    let Some(user) = &view.user else {
        return Ok(true);
    };
    let Some(project) = &view.project else {
        return Ok(db::users::find_by_name(db, user).await?.is_some());
    };
    let Some(project) = db::projects::find_visible(db, viewer.id, user, project).await? else {
        return Ok(false);
    };
    match &view.job {
        None => Ok(true),
        Some(job) => Ok(db::jobs::find_in_project(db, project.id, job)
            .await?
            .is_some()),
    }
}

/// The 404 page for a view that does not exist: plain HTML with the app's style and a way back.
pub fn not_found_page(options: &leptos::config::LeptosOptions) -> Response {
    // Inline, as the app's pages have it: the stylesheet's file name carries a hash.
    let style = app::stylesheet(options).unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <meta name=\"color-scheme\" content=\"light dark\"><link rel=\"icon\" href=\"data:,\">\
        <style>{style}</style><title>Not found · millrace</title></head>\
        <body><main class=\"not-found\"><h1>Not found</h1>\
        <p>No user, project or job lives at this address, or it is private.</p>\
        <a href=\"/\">Back to the start</a></main></body></html>"
    );
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

/// The media type `content_type` names, lowercased and without its parameters
/// (`application/json` for `Application/JSON; charset=utf-8`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a job's token may call `path`: the APIs a training script logs through, not the web
/// app's pages and server functions nor the runner protocol.
fn job_token_reaches(path: &str) -> bool {
    (path.starts_with("/api/v1/") && !path.starts_with("/api/v1/runner/"))
        || [
            "/api/2.0/mlflow/",
            "/ajax-api/2.0/mlflow/",
            "/api/3.0/mlflow/",
            "/api/2.0/mlflow-artifacts/",
            "/ajax-api/2.0/mlflow-artifacts/",
        ]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// What a request without credentials may reach.
#[derive(Debug, PartialEq, Eq)]
enum Access {
    /// The REST API: 401.
    Api,
    /// The login page, server functions and the MLflow API (each checks the user itself).
    Open,
    /// Any other page: go and sign in first.
    Page,
}

impl Access {
    fn of(path: &str) -> Self {
        if path.starts_with("/api/v1/runner/") {
            // Runners carry runner tokens, which the handlers check.
            Self::Open
        } else if path.starts_with("/api/v1/") || path == "/api/v1" {
            Self::Api
        } else if path == "/login" || path.starts_with("/api/") || path.starts_with("/ajax-api/") {
            Self::Open
        } else {
            Self::Page
        }
    }
}

/// Built assets: no database lookup for them. (Not "anything with a dot": names may have dots.)
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rest_api_answers_401_and_pages_go_to_login() {
        assert_eq!(Access::of("/api/v1/me"), Access::Api);
        assert_eq!(Access::of("/api/login12345"), Access::Open);
        assert_eq!(Access::of("/login"), Access::Open);
        assert_eq!(Access::of("/api/v1/runner/lease"), Access::Open);
        assert_eq!(Access::of("/u/ann/p/x"), Access::Page);
        assert!(is_static("/pkg/millrace.wasm"));
        assert!(!is_static("/u/ann"));
        assert!(
            !is_static("/u/ann.lee"),
            "a dot in a name does not skip sign-in"
        );
    }

    #[test]
    fn a_job_token_reaches_only_the_tracking_apis() {
        assert!(job_token_reaches("/api/v1/jobs/abc/metrics"));
        assert!(job_token_reaches("/api/2.0/mlflow/runs/log-batch"));
        assert!(job_token_reaches(
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.pt"
        ));
        assert!(!job_token_reaches("/api/v1/runner/lease"));
        assert!(!job_token_reaches("/api/list_jobs"));
        assert!(!job_token_reaches("/u/ann"));
    }
}
