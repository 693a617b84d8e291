//! Authentication of every request: who is calling, and what to do when nobody is.

use crate::api::error::ApiError;
use app::auth::{self, CurrentUser};
use app::error::AppError;
use app::state::AppState;
use app::url::encode_component;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Finds the caller (token or session) and stores it in the request; without one, the REST API
/// answers 401, pages redirect to the login page, and server functions decide for themselves.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if is_static(path) || path == "/healthz" {
        return next.run(request).await;
    }
    let user = match auth::user_from_headers(&state.db, request.headers()).await {
        Ok(user) => user,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if let Some(user) = user {
        request.extensions_mut().insert(CurrentUser(user));
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
        if path.starts_with("/api/v1/") || path == "/api/v1" {
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
        assert_eq!(Access::of("/u/ann/p/x"), Access::Page);
        assert!(is_static("/pkg/millrace.wasm"));
        assert!(!is_static("/u/ann"));
        assert!(
            !is_static("/u/ann.lee"),
            "a dot in a name does not skip sign-in"
        );
    }
}
