//! The runner protocol's registration: a runner name belongs to the runner token that took it,
//! and what it says of its GPUs must describe GPUs it has.

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
    register_with(
        app,
        token,
        json!({ "name": name, "hostname": "box", "gpus": ["0"] }),
    )
    .await
}

async fn register_with(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
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

#[tokio::test]
async fn gpu_models_must_describe_the_runners_own_gpus_in_plain_text() {
    let app = TestApp::new().await;
    let token = runner_token(&app, "boxes").await;
    let a100 = |id: &str, name: &str| json!({ "id": id, "name": name, "memory_mib": 81920, "uuid": "GPU-1" });
    let with = |models: Value| json!({ "name": "box", "gpus": ["0", "1"], "gpu_models": models });
    let refusals = [
        (
            json!([a100("7", "NVIDIA A100")]),
            "GPU '7' is not one of gpus",
        ),
        (
            json!([a100("0", "A"), a100("0", "B")]),
            "GPU '0' is described twice",
        ),
        (
            json!([a100("1", "A100\u{1b}[31m")]),
            "at most 200 bytes of text",
        ),
        (
            json!([a100("1", &"x".repeat(201))]),
            "at most 200 bytes of text",
        ),
        (
            json!([a100("1", &"a-".repeat(13))]),
            "the name of GPU '1' has at most 12 words",
        ),
    ];
    for (models, expected) in refusals {
        let (status, answer) = register_with(&app, &token, with(models)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert!(answer["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("gpu_models["));
    }
    let models = json!([
        a100("0", "NVIDIA A100-SXM4-80GB"),
        a100("1", "NVIDIA A100-SXM4-80GB")
    ]);
    let (status, answer) = register_with(&app, &token, with(models)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let listed = db::runners::list(&app.db).await.unwrap();
    let gpus = listed[0].runner.gpu_model_list();
    assert_eq!(
        (gpus.len(), gpus[1].name.as_str(), gpus[1].memory_mib),
        (2, "NVIDIA A100-SXM4-80GB", 81920)
    );
}
