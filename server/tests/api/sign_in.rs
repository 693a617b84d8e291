//! Sign-in defences and cross-site request forgery, through the real router: throttling,
//! equal work for unknown names, idle sessions, and writes that must come from this site.

use crate::helpers::{TestApp, PASSWORD};
use app::auth::SESSION_COOKIE;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The login server function's path, read from the login form.
async fn login_action(app: &TestApp) -> String {
    let (_, _, page) = app.get("/login", None).await;
    page.split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the login form")
        .to_owned()
}

/// Signs in as the app's own script does, from `address`; status and headers.
async fn sign_in(
    app: &TestApp,
    name: &str,
    password: &str,
    address: &str,
) -> (StatusCode, HeaderMap) {
    let form = format!("name={name}&password={}", password.replace(' ', "+"));
    let mut request = Request::post(login_action(app).await)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(form))
        .unwrap();
    let peer: SocketAddr = format!("{address}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let (status, headers, _) = app.send(request).await;
    (status, headers)
}

/// The `name=value` pair of the session cookie a successful sign-in set.
fn session_pair(headers: &HeaderMap) -> String {
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let pair = cookie.split(';').next().unwrap();
    assert!(pair.starts_with(SESSION_COOKIE), "{cookie}");
    pair.to_owned()
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_with_429_and_retry_after() {
    let app = TestApp::new().await;
    app::db::users::create(&app.db, "ben", "Ben").await.unwrap();
    for attempt in 1..=5 {
        let (status, _) = sign_in(&app, "ann", "guess", "10.0.0.1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt}");
    }
    // Even the right password, from another address, waits now: the guesses were for ann.
    let (status, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.2").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&wait), "Retry-After: {wait}");
    assert!(headers.get(header::SET_COOKIE).is_none());

    // Fifteen minutes later, ann signs in, and that forgets her failures.
    sqlx::query("UPDATE failed_sign_ins SET at_ms = at_ms - 900001")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.2").await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    session_pair(&headers);
}

#[tokio::test]
async fn twenty_failures_from_one_address_stop_that_address_only() {
    let app = TestApp::new().await;
    for n in 0..20 {
        let (status, _) = sign_in(&app, &format!("nobody{n}"), "guess", "10.0.0.9").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {n}");
    }
    let (status, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.9").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    let (status, _) = sign_in(&app, "ann", PASSWORD, "10.0.0.10").await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
}

#[tokio::test]
async fn an_unknown_name_takes_as_long_as_a_wrong_password() {
    let app = TestApp::new().await;
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    // Interleaved, so a noisy moment on a shared machine hits both alike; four of each keeps
    // both under the per-account limit.
    for n in 0..4 {
        let start = Instant::now();
        sign_in(&app, &format!("nobody{n}"), "guess", "10.1.0.1").await;
        unknown.push(start.elapsed());
        let start = Instant::now();
        sign_in(&app, "ann", "guess", "10.1.0.2").await;
        wrong.push(start.elapsed());
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown name {unknown:?}, wrong password {wrong:?}"
    );
}

#[tokio::test]
async fn a_session_left_idle_for_a_week_ends() {
    let app = TestApp::new().await;
    let (_, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.1").await;
    let pair = session_pair(&headers);
    let me = || {
        Request::get("/api/v1/me")
            .header(header::COOKIE, &pair)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(me()).await.0, StatusCode::OK);
    let eight_days = 8 * 24 * 3600 * 1000_i64;
    sqlx::query("UPDATE sessions SET last_seen_ms = last_seen_ms - $1")
        .bind(eight_days)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(app.send(me()).await.0, StatusCode::UNAUTHORIZED);
}

/// A signed-in browser's POST of a server function, claiming `origin` (`None`: no header).
fn signed_in_post(path: &str, pair: &str, origin: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "ml.local")
        .header(header::COOKIE, pair)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn another_sites_page_cannot_act_with_the_session_cookie() {
    let app = TestApp::new().await;
    let ann = app.user_id("ann").await;
    app::db::projects::create(&app.db, ann, "lab", "", false)
        .await
        .unwrap();
    let (_, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.1").await;
    let pair = session_pair(&headers);
    let archive = json!({ "owner": "ann", "projects": ["lab"], "archived": true });
    let archived = || async {
        app::db::projects::find_visible(&app.db, ann, "ann", "lab")
            .await
            .unwrap()
            .unwrap()
            .archived
            == 1
    };

    for forged in [Some("https://evil.example"), Some("null"), None] {
        let request = signed_in_post("/api/archive_projects", &pair, forged, archive.clone());
        let (status, _, body) = app.send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{forged:?}: {body}");
        assert!(!archived().await, "{forged:?} changed nothing");
    }
    let request = signed_in_post(
        "/api/archive_projects",
        &pair,
        Some("http://ml.local"),
        archive,
    );
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(archived().await);
}

#[tokio::test]
async fn json_endpoints_refuse_the_bodies_a_cross_site_form_can_send() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (_, headers) = sign_in(&app, "ann", PASSWORD, "10.0.0.1").await;
    let pair = session_pair(&headers);
    let body = json!({ "name": "planted" }).to_string();
    // A form with enctype="text/plain" carries this JSON; the browser adds the victim's cookie.
    let mlflow = Request::post("/api/2.0/mlflow/experiments/create")
        .header(header::HOST, "ml.local")
        .header(header::ORIGIN, "http://ml.local")
        .header(header::COOKIE, &pair)
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, _, answer) = app.send(mlflow).await;
    // As MLflow's own server answers a wrong Content-Type.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.contains("INVALID_PARAMETER_VALUE"), "{answer}");
    let with_token = Request::post("/api/2.0/mlflow/experiments/create")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(app.send(with_token).await.0, StatusCode::BAD_REQUEST);
    let server_fn = Request::post("/api/list_projects")
        .header(header::HOST, "ml.local")
        .header(header::ORIGIN, "http://ml.local")
        .header(header::COOKIE, &pair)
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CONTENT_LENGTH, 2)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        app.send(server_fn).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert!(
        app::db::projects::find_visible(&app.db, app.user_id("ann").await, "ann", "planted")
            .await
            .unwrap()
            .is_none(),
        "nothing was created"
    );
}
