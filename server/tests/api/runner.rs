//! The runner protocol's registration: a runner name belongs to the runner token that took it.

use super::helpers::TestApp;
use app::db;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

/// A new runner token's secret.
async fn runner_token(app: &TestApp, name: &str) -> String {
    let secret = app::auth::new_secret();
    db::runners::create_token(&app.db, name, &app::auth::hash_secret(&secret))
        .await
        .unwrap();
    secret
}

async fn register(app: &TestApp, token: &str, name: &str) -> (StatusCode, Value) {
    let body = json!({ "name": name, "hostname": "box", "gpus": ["0"] });
    let request = Request::post("/api/v1/runner/register")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, text) = app.send(request).await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn registering_a_name_another_runner_token_holds_is_a_conflict() {
    let app = TestApp::new().await;
    let mine = runner_token(&app, "mine").await;
    let theirs = runner_token(&app, "theirs").await;
    let (status, first) = register(&app, &mine, "gpu-1").await;
    assert_eq!(status, StatusCode::OK, "{first}");

    let (status, refused) = register(&app, &theirs, "gpu-1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "conflict");
    assert_eq!(refused["error"]["field"], "name");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'gpu-1' belongs to a runner of another runner token"),
        "{message}"
    );

    let (status, again) = register(&app, &mine, "gpu-1").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["runner_id"], first["runner_id"],
        "the same row, taken back"
    );
}
