//! Cross-site request forgery: a browser sends its session cookie with requests that other
//! sites' pages make, so a request that changes something and rides on that cookie must come
//! from this site's own pages, and bodies must be what the endpoint takes.

use crate::api::error::ApiError;
use app::auth::session_secret;
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, REFERER, TRANSFER_ENCODING,
};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Lets a request through if it cannot have been forged by another site, else answers 403
/// (wrong origin), or 415 (400 on MLflow's routes, as MLflow answers) for a body type a
/// cross-site form could send to a JSON endpoint.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Err(refusal) = check_origin(headers, state.runs.public_origin.as_deref()) {
        return refusal;
    }
    if let Err(refusal) = check_body_type(request.uri().path(), headers) {
        return refusal;
    }
    next.run(request).await
}

/// Methods that change nothing, which every route keeps to.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request with credentials in `Authorization` came from code that holds a token (no page
/// of another site can set that header without a CORS preflight, which millrace never allows);
/// anything else must show this site's origin when it comes from a browser.
#[allow(clippy::result_large_err)]
fn check_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), Response> {
    if headers.contains_key(AUTHORIZATION) {
        return Ok(());
    }
    let claimed = match headers.get(ORIGIN) {
        Some(origin) => origin.to_str().ok().map(str::to_owned),
        None => headers
            .get(REFERER)
            .and_then(|referer| referer.to_str().ok())
            .map(|referer| origin_of(referer).unwrap_or_default()),
    };
    let refuse = |why: String| Err(ApiError::from(AppError::Forbidden(why)).into_response());
    match claimed {
        Some(origin) if is_own_origin(&origin, headers, public_origin) => Ok(()),
        Some(origin) => refuse(format!(
            "a request from {origin:?} may not act on this site; use an API token from other sites"
        )),
        // Curl and scripts without a session send neither header; a browser always sends one.
        None if session_secret(headers).is_none() => Ok(()),
        None => refuse(
            "a signed-in request that changes something needs an Origin or Referer header".into(),
        ),
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

/// Whether `origin` is this site: the public URL's origin when one is set, else any scheme
/// with the host the request was sent to (a proxy in front may end TLS).
fn is_own_origin(origin: &str, headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(public) = public_origin {
        return origin.eq_ignore_ascii_case(public);
    }
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    ["http://", "https://"].iter().any(|scheme| {
        origin
            .strip_prefix(scheme)
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
    })
}

/// MLflow's API takes JSON bodies only; server functions take JSON or the url-encoded body of
/// the app's own forms. A cross-site form can send `text/plain` (or a script a body with no
/// type) without a preflight, and those bodies would otherwise be parsed as JSON all the same.
#[allow(clippy::result_large_err)]
fn check_body_type(path: &str, headers: &HeaderMap) -> Result<(), Response> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = crate::middleware::media_type(content_type);
    let has_body = headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if !has_body {
        return Ok(());
    }
    let is_json = essence == "application/json" || essence.ends_with("+json");
    let accepted = if is_mlflow(path) {
        is_json
    } else if is_server_function(path) {
        is_json || essence == "application/x-www-form-urlencoded"
    } else {
        return Ok(());
    };
    if accepted {
        return Ok(());
    }
    let shown = if content_type.is_empty() {
        "no Content-Type"
    } else {
        content_type
    };
    let message = format!("{path} takes a JSON body (Content-Type: application/json), not {shown}");
    // MLflow's own server answers a wrong Content-Type with 400 INVALID_PARAMETER_VALUE, and
    // its clients expect that; elsewhere it is what HTTP calls it, 415.
    let (status, body) = if is_mlflow(path) {
        let body =
            serde_json::json!({ "error_code": "INVALID_PARAMETER_VALUE", "message": message });
        (StatusCode::BAD_REQUEST, body)
    } else {
        let body = serde_json::json!({ "error": { "code": "unsupported_media_type", "message": message } });
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, body)
    };
    Err((status, axum::Json(body)).into_response())
}

/// MLflow's REST prefixes.
fn is_mlflow(path: &str) -> bool {
    path.starts_with("/api/2.0/mlflow/") || path.starts_with("/ajax-api/2.0/mlflow/")
}

/// The app's server functions: `/api/NAME`, beside the REST API under `/api/v1` and MLflow's
/// under `/api/2.0`.
fn is_server_function(path: &str) -> bool {
    path.strip_prefix("/api/")
        .is_some_and(|rest| !rest.contains('/') && !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(axum::http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const COOKIE: axum::http::HeaderName = axum::http::header::COOKIE;

    #[test]
    fn only_this_sites_pages_may_send_signed_in_writes() {
        let own = [(HOST, "ml.local:3000"), (COOKIE, "millrace_session=mr_1")];
        let with = |extra: (axum::http::HeaderName, &'static str)| {
            let mut pairs = own.to_vec();
            pairs.push(extra);
            headers(&pairs)
        };
        assert!(check_origin(&with((ORIGIN, "http://ml.local:3000")), None).is_ok());
        assert!(check_origin(&with((ORIGIN, "https://ML.local:3000")), None).is_ok());
        assert!(check_origin(&with((REFERER, "http://ml.local:3000/u/ann")), None).is_ok());
        for forged in [
            (ORIGIN, "https://evil.example"),
            (ORIGIN, "null"),
            (ORIGIN, "http://ml.local:3000.evil.example"),
            (REFERER, "https://evil.example/ml.local:3000"),
            (REFERER, "not a url"),
        ] {
            let refused = check_origin(&with(forged.clone()), None).unwrap_err();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{forged:?}");
        }
        // A cookie and neither header: not a browser's request, so not taken.
        assert!(check_origin(&headers(&own), None).is_err());
        // No cookie and no header (a script): nothing to forge.
        assert!(check_origin(&headers(&[(HOST, "ml.local:3000")]), None).is_ok());
        // A token in Authorization: nothing a cross-site page can send.
        let token = with((AUTHORIZATION, "Bearer mr_x"));
        assert!(check_origin(&token, None).is_ok());
    }

    #[test]
    fn a_public_url_is_the_only_origin_taken() {
        let request = headers(&[
            (HOST, "10.0.0.5:3000"),
            (ORIGIN, "http://10.0.0.5:3000"),
            (COOKIE, "millrace_session=mr_1"),
        ]);
        assert!(check_origin(&request, Some("https://ml.example.com")).is_err());
        let request = headers(&[
            (HOST, "10.0.0.5:3000"),
            (ORIGIN, "https://ml.example.com"),
            (COOKIE, "millrace_session=mr_1"),
        ]);
        assert!(check_origin(&request, Some("https://ml.example.com")).is_ok());
    }

    #[test]
    fn json_endpoints_take_json_only() {
        let typed = |value: &str| headers(&[(CONTENT_TYPE, value), (CONTENT_LENGTH, "2")]);
        let mlflow = "/api/2.0/mlflow/runs/create";
        assert!(check_body_type(mlflow, &typed("application/json; charset=utf-8")).is_ok());
        for wrong in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let refused = check_body_type(mlflow, &typed(wrong)).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{wrong}");
        }
        let untyped = headers(&[(CONTENT_LENGTH, "2")]);
        assert!(check_body_type(mlflow, &untyped).is_err());
        // No body: nothing to read as JSON.
        assert!(check_body_type(mlflow, &headers(&[(CONTENT_LENGTH, "0")])).is_ok());
        assert!(check_body_type("/api/tag_jobs", &typed("application/json")).is_ok());
        assert!(check_body_type("/api/login", &typed("application/x-www-form-urlencoded")).is_ok());
        let refused = check_body_type("/api/tag_jobs", &typed("text/plain")).unwrap_err();
        assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // The REST API's own extractors check types; uploads take raw bytes.
        assert!(check_body_type("/api/v1/snapshots", &typed("application/octet-stream")).is_ok());
    }
}
