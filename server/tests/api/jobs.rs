//! The jobs API: create, append metrics and logs, status, summary; bad input changes nothing.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

/// A test app with a project `ann/xray` and a token of ann's.
async fn with_project() -> (TestApp, String) {
    let app = TestApp::new().await;
    let ann = app::db::users::find_by_name(&app.db, "ann")
        .await
        .unwrap()
        .unwrap();
    app::db::projects::create(&app.db, ann.id, "xray", "", false)
        .await
        .unwrap();
    let (_, token) = app.token().await;
    (app, token)
}

async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    let (status, _, text) = app.send(request).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let (status, _, text) = app.get(path, Some(&format!("Bearer {token}"))).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

async fn new_job(app: &TestApp, token: &str) -> String {
    let body =
        json!({"name": "resnet-1", "params": {"lr": "0.1"}, "tags": {"baseline": ""}, "gpus": 2});
    let (status, created) = post(
        app,
        token,
        "/api/v1/projects/ann/xray/jobs",
        body.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["number"], 1);
    assert_eq!(created["url"], "/u/ann/p/xray/j/1");
    created["uid"].as_str().unwrap().to_owned()
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_of_metrics_updates_the_summary_and_the_event_sequence() {
    let (app, token) = with_project().await;
    let uid = new_job(&app, &token).await;
    let points: Vec<Value> = (0..1000)
        .map(|i| json!({"key": if i % 2 == 0 { "loss" } else { "acc" }, "step": i / 2, "value": 1.0 / (i + 1) as f64}))
        .chain([json!({"key": "loss", "step": "600", "value": "NaN", "wall_ms": "1700000000000"})])
        .collect();
    let (status, answer) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/metrics"),
        json!({"points": points}).to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["accepted"].as_i64()),
        (StatusCode::OK, Some(1001))
    );

    let (status, job) = get(&app, &token, &format!("/api/v1/jobs/{uid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            job["name"].as_str(),
            job["status"].as_str(),
            job["gpus"].as_i64()
        ),
        (Some("resnet-1"), Some("running"), Some(2))
    );
    assert_eq!(job["params"], json!({"lr": "0.1"}));
    assert_eq!(job["tags"], json!({"baseline": ""}));
    let metrics = job["metrics"].as_array().unwrap();
    let loss = metrics.iter().find(|m| m["key"] == "loss").unwrap();
    assert_eq!(
        (
            loss["count"].as_i64(),
            loss["last"].as_str(),
            loss["last_step"].as_i64()
        ),
        (Some(501), Some("NaN"), Some(600))
    );
    assert_eq!(loss["max"].as_f64(), Some(1.0));
    assert_eq!(event_count(&app).await, 2, "job.created and metrics");
}

#[tokio::test]
async fn one_bad_point_in_a_thousand_stores_nothing_and_names_the_field() {
    let (app, token) = with_project().await;
    let uid = new_job(&app, &token).await;
    let mut points: Vec<Value> = (0..1000)
        .map(|i| json!({"key": "loss", "step": i, "value": 0.5}))
        .collect();
    points[517] = json!({"key": "loss", "step": 517, "value": "fast"});
    let path = format!("/api/v1/jobs/{uid}/metrics");
    let (status, answer) = post(&app, &token, &path, json!({"points": points}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "invalid");
    assert_eq!(answer["error"]["field"], "points[517].value");

    points[517] = json!({"key": "x".repeat(300), "step": 1, "value": 1});
    let (_, answer) = post(&app, &token, &path, json!({"points": points}).to_string()).await;
    assert_eq!(answer["error"]["field"], "points[517].key");
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| json!({"key": "k", "step": i, "value": 1}))
        .collect();
    let (status, answer) = post(&app, &token, &path, json!({"points": too_many}).to_string()).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("points"))
    );

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric_points")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing of a refused batch is stored");
    assert_eq!(event_count(&app).await, 1, "only job.created");
}

#[tokio::test]
async fn malformed_or_oversized_bodies_get_the_error_shape() {
    let (app, token) = with_project().await;
    let uid = new_job(&app, &token).await;
    let path = format!("/api/v1/jobs/{uid}/metrics");
    let (status, answer) = post(&app, &token, &path, "{\"points\": [").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid"))
    );
    let huge = format!("{{\"points\": [], \"pad\": \"{}\"}}", "x".repeat(17 << 20));
    let (status, answer) = post(&app, &token, &path, huge).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let (status, answer) = post(
        &app,
        &token,
        "/api/v1/projects/ann/xray/jobs",
        r#"{"name": "x", "gpu": 1}"#,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a misspelt field is refused: {answer}"
    );
}

#[tokio::test]
async fn unknown_jobs_and_other_users_private_projects_are_not_found() {
    let (app, token) = with_project().await;
    let (status, answer) = get(
        &app,
        &token,
        "/api/v1/jobs/0123456789abcdef0123456789abcdef",
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let bob = app::db::users::create(&app.db, "bob", "Bob").await.unwrap();
    app::db::projects::create(&app.db, bob.id, "secret", "", true)
        .await
        .unwrap();
    let (status, _) = post(
        &app,
        &token,
        "/api/v1/projects/bob/secret/jobs",
        r#"{"name": "peek"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_changes_and_log_lines_are_recorded() {
    let (app, token) = with_project().await;
    let uid = new_job(&app, &token).await;
    let lines = json!({"lines": [{"text": "epoch 1"}, {"text": "epoch 2"}, {"stream": "stderr", "text": "warn"}]});
    let (status, answer) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/logs"),
        lines.to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["accepted"].as_i64()),
        (StatusCode::OK, Some(3))
    );
    let chunks: Vec<(String, String)> =
        sqlx::query_as("SELECT stream, text FROM log_chunks ORDER BY seq")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        chunks,
        [
            ("stdout".into(), "epoch 1\nepoch 2\n".into()),
            ("stderr".into(), "warn\n".into())
        ]
    );
    let bad = json!({"lines": [{"stream": "stdlog", "text": "x"}]});
    let (_, answer) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/logs"),
        bad.to_string(),
    )
    .await;
    assert_eq!(answer["error"]["field"], "lines[0].stream");

    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/status"),
        r#"{"status": "succeeded"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, job) = get(&app, &token, &format!("/api/v1/jobs/{uid}")).await;
    assert_eq!(job["status"], "succeeded");
    assert!(job["finished_ms"].as_i64().is_some());
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/status"),
        r#"{"status": "done"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
