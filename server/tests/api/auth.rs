//! Who may call what: tokens, sessions, and the error shape of a refusal.

use crate::helpers::{TestApp, PASSWORD};
use app::auth::{hash_secret, SESSION_COOKIE};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use serde_json::Value;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn no_token_gets_401_in_the_shared_error_shape() {
    let app = TestApp::new().await;
    let (status, headers, body) = app.get("/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(json(&body)["error"]["code"], "unauthorized");
    assert_eq!(json(&body)["error"]["message"], "sign in to continue");
}

#[tokio::test]
async fn a_bearer_token_identifies_its_user_and_is_stored_only_hashed() {
    let app = TestApp::new().await;
    let (id, token) = app.token().await;
    let (status, _, body) = app
        .get("/api/v1/me", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json(&body),
        serde_json::json!({"name": "ann", "display_name": "Ann Example"})
    );
    let stored = app::db::tokens::stored_hash(&app.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, hash_secret(&token));
    assert!(!stored.contains(&token[3..]));
}

#[tokio::test]
async fn a_wrong_or_revoked_token_is_refused_at_once() {
    let app = TestApp::new().await;
    let (id, token) = app.token().await;
    let (status, _, _) = app.get("/api/v1/me", Some("Bearer mr_0000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let ann = app::db::users::find_by_name(&app.db, "ann")
        .await
        .unwrap()
        .unwrap();
    assert!(app::db::tokens::revoke(&app.db, ann.id, id).await.unwrap());
    let (status, _, body) = app
        .get("/api/v1/me", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&body)["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn basic_auth_needs_the_name_that_owns_the_token() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let basic = |text: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    };
    let (status, _, _) = app
        .get("/api/v1/me", Some(&basic(&format!("ann:{token}"))))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .get("/api/v1/me", Some(&basic(&format!("bob:{token}"))))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn login(app: &TestApp, password: &str) -> (StatusCode, axum::http::HeaderMap) {
    let (_, _, page) = app.get("/login", None).await;
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the login form");
    let form = format!(
        "name=ann&password={}&next=%2Fsomewhere",
        password.replace(' ', "+")
    );
    let request = Request::post(action)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, headers, _) = app.send(request).await;
    (status, headers)
}

#[tokio::test]
async fn login_sets_an_httponly_session_that_logout_ends() {
    let app = TestApp::new().await;
    let (status, headers) = login(&app, PASSWORD).await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    assert_eq!(headers[header::LOCATION], "/somewhere");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with(&format!("{SESSION_COOKIE}=mr_")));

    let with_cookie = |path: &str| {
        Request::get(path)
            .header(header::COOKIE, &pair)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = app.send(with_cookie("/api/v1/me")).await;
    assert_eq!(
        (status, json(&body)["name"].as_str()),
        (StatusCode::OK, Some("ann"))
    );
    let (status, _, page) = app.send(with_cookie("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Ann Example"),
        "the home page names the signed-in user"
    );

    let (_, _, page) = app.send(with_cookie("/")).await;
    let logout = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the logout form");
    // Sent from the page itself, as the browser does (other origins are refused).
    let request = Request::post(logout)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::COOKIE, &pair)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    app.send(request).await;
    let (status, _, _) = app.send(with_cookie("/api/v1/me")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ended at once"
    );
}

#[tokio::test]
async fn a_wrong_password_opens_no_session() {
    let app = TestApp::new().await;
    let (status, headers) = login(&app, "not the password").await;
    assert!(!status.is_success(), "{status}");
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn pages_redirect_to_login_and_healthz_is_open() {
    let app = TestApp::new().await;
    let (status, headers, _) = app.get("/u/ann?sort=name", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/u/ann%3Fsort%3Dname"
    );
    let (status, _, body) = app.get("/healthz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, body) = app.get("/api/v1/nothing-here", Some("Bearer x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn readyz_is_open_and_says_when_the_file_store_cannot_take_a_write() {
    let app = TestApp::new().await;
    let (status, _, body) = app.get("/readyz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
    let files = app.files_dir();
    let names = |dir: &std::path::Path| -> Vec<_> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    };
    let before = names(&files);
    app.get("/readyz", None).await;
    assert_eq!(names(&files), before, "the probe leaves nothing behind");
    // The disk went away under the server: a file where its directory was.
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();
    let (status, _, body) = app.get("/readyz", None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "file store unavailable\n")
    );
    let (status, _, _) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "alive, though not ready");
}

#[tokio::test]
async fn unknown_api_paths_answer_404_in_the_error_shape() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, _, body) = app
        .get("/api/v1/nothing-here", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_failed_plain_form_login_returns_to_the_form_with_a_message() {
    let app = TestApp::new().await;
    let (_, _, page) = app.get("/login", None).await;
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let request = Request::post(action.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .body(Body::from("name=ann&password=nope&next=%2Fu%2Fann"))
        .unwrap();
    let (status, headers, _) = app.send(request).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/login?failed=1&next=/u/ann");
    let (_, _, form) = app.get(&location, None).await;
    assert!(form.contains("wrong user name or password"));
    assert!(form.contains(r#"name="next" value="/u/ann""#));
}

#[tokio::test]
async fn the_mlflow_api_answers_in_mlflows_error_shape_under_both_prefixes() {
    let app = TestApp::new().await;
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        let (status, _, body) = app
            .get(
                &format!("{prefix}/experiments/get-by-name?experiment_name=x"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{prefix}");
        assert_eq!(json(&body)["error_code"], "UNAUTHENTICATED");
    }
    let (_, token) = app.token().await;
    let bearer = format!("Bearer {token}");
    let (status, _, body) = app
        .get(
            "/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=nope",
            Some(&bearer),
        )
        .await;
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    // Free text is a name like any other; only past MLflow's 500 characters is it refused.
    let (status, _, body) = app
        .get(
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=a%20b",
            Some(&bearer),
        )
        .await;
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (status, _, body) = app
        .get(
            &format!(
                "/api/2.0/mlflow/experiments/get-by-name?experiment_name={}",
                "a".repeat(501)
            ),
            Some(&bearer),
        )
        .await;
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, _, body) = app
        .get("/api/2.0/mlflow/runs/search-everything", Some(&bearer))
        .await;
    assert_eq!(
        (status, json(&body)["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ENDPOINT_NOT_FOUND"))
    );
}

#[tokio::test]
async fn every_answer_names_its_request_and_errors_say_the_same_id() {
    let app = TestApp::new().await;
    let ask = |id: Option<&str>| {
        let mut request = axum::http::Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, "Bearer not-a-token");
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    let (status, headers, body) = app.send(ask(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let made = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 16, "{made}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["request_id"], made.as_str());
    // A proxy's id is kept; one that is not plain text is replaced.
    let (_, headers, body) = app.send(ask(Some("lb-7f3a.2"))).await;
    assert_eq!(headers["x-request-id"], "lb-7f3a.2");
    assert!(body.contains("\"request_id\":\"lb-7f3a.2\""), "{body}");
    let (_, headers, _) = app.send(ask(Some("two words"))).await;
    assert_ne!(headers["x-request-id"], "two words");
    let (_, headers, _) = app.get("/healthz", None).await;
    assert!(headers.contains_key("x-request-id"));
}
