//! `/api/v1/projects`: a user makes a project of their own, reads it and lists a user's.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

async fn post(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/projects")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, text) = app.send(request).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let (status, _, text) = app.get(path, Some(&format!("Bearer {token}"))).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn a_user_creates_a_project_and_finds_it() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, made) = post(
        &app,
        &token,
        json!({ "name": "xray", "description": "chest x-rays", "private": true }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["owner"], "ann");
    assert_eq!(made["name"], "xray");
    assert_eq!(made["private"], true);

    let (status, shown) = get(&app, &token, "/api/v1/projects/ann/xray").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["description"], "chest x-rays");

    let (status, again) = post(&app, &token, json!({ "name": "xray" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again
        .to_string()
        .contains("already have a project called xray"));

    let (status, listed) = get(&app, &token, "/api/v1/users/ann/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["name"], "xray");
    assert_eq!(listed["next"], Value::Null);

    // Jobs go into it at once: the 404 that used to meet a new user is gone.
    let request = Request::post("/api/v1/projects/ann/xray/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"name": "first"}"#))
        .unwrap();
    assert_eq!(app.send(request).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong_and_create_nothing() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    for (body, says) in [
        (json!({ "name": "x ray" }), "use letters, digits"),
        (json!({ "name": "" }), "cannot be empty"),
        (json!({ "name": "a".repeat(65) }), "at most 64"),
        (
            json!({ "name": "ok", "description": "d".repeat(5001) }),
            "description",
        ),
        (json!({ "name": "ok", "privat": true }), "privat"),
        (json!({ "name": ["nested", ["deeper"]] }), "name"),
    ] {
        let (status, answer) = post(&app, &token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer.to_string().contains(says), "{body}: {answer}");
    }
    let (_, listed) = get(&app, &token, "/api/v1/users/ann/projects").await;
    assert_eq!(listed["items"], json!([]), "nothing was made");
    for query in [
        "cursor=%00nope",
        "limit=99999999999",
        "limit=-1",
        "colour=red",
    ] {
        let path = format!("/api/v1/users/ann/projects?{query}");
        let (status, answer) = get(&app, &token, &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
}

#[tokio::test]
async fn strangers_list_only_what_they_may_see() {
    let app = TestApp::new().await;
    let ann = app.user_id("ann").await;
    app::db::projects::create(&app.db, ann, "open", "", false)
        .await
        .unwrap();
    app::db::projects::create(&app.db, ann, "secret", "", true)
        .await
        .unwrap();
    let ben = app::db::users::create(&app.db, "ben", "Ben").await.unwrap();
    let (_, ben_token) =
        app::auth::create_token(&app.db, ben.id, "t", app::model::TokenScope::Read, None)
            .await
            .unwrap();
    let (status, listed) = get(&app, &ben_token, "/api/v1/users/ann/projects").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["open"]);
    let (status, _) = get(&app, &ben_token, "/api/v1/projects/ann/secret").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&app, &ben_token, "/api/v1/users/nobody/projects").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = post(&app, &ben_token, json!({ "name": "mine" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a read-only token: {answer}");
}
