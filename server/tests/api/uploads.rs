//! Snapshot and artifact uploads: streamed to disk, counted against their user's quota, refused
//! whole (413, 400) with nothing left behind.

use crate::helpers::TestApp;
use app::db::jobs::{NewJob, RunSpec};
use app::state::{AppState, RunSettings};
use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// The router of `app` with a storage quota of `quota` bytes per user.
fn with_quota(app: &TestApp, quota: u64) -> Router {
    let mut runs = RunSettings::new(app.state.runs.files.clone());
    runs.quota = Some(quota);
    let state = AppState {
        runs: Arc::new(runs),
        ..app.state.clone()
    };
    server::startup::router(state, server::monitoring::Monitor::new(None))
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

/// `bytes` of a fake .tar.gz (the gzip magic, then `fill`).
fn snapshot(bytes: usize, fill: u8) -> Vec<u8> {
    let mut body = vec![fill; bytes];
    body[..2].copy_from_slice(&[0x1f, 0x8b]);
    body
}

fn upload_snapshot(token: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/v1/snapshots")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/gzip")
        .body(body.into())
        .unwrap()
}

/// A body of `pieces` pieces of `size` bytes whose length is not declared.
fn streamed(pieces: usize, size: usize) -> Body {
    let stream = futures_util::stream::iter(
        (0..pieces).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; size]))),
    );
    Body::from_stream(stream)
}

/// A body that sends `size` bytes, then fails as a dropped connection does.
fn cut_short(size: usize) -> Body {
    let stream = futures_util::stream::iter([
        Ok(Bytes::from(snapshot(size, 1))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset",
        )),
    ]);
    Body::from_stream(stream)
}

async fn usage(app: &TestApp, name: &str) -> i64 {
    let user = app::db::users::find_by_name(&app.db, name)
        .await
        .unwrap()
        .unwrap();
    app::db::storage::usage(&app.db, user.id).await.unwrap()
}

/// Every file under `dir`, temporary ones included.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn a_snapshot_is_stored_by_its_hash_and_counted_once_per_user() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let body = snapshot(300_000, 3);
    let (status, stored) = send(&app.router, upload_snapshot(&token, body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let sha = stored["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, server::files::sha256_hex(&body));
    assert_eq!(stored["bytes"], 300_000);
    let path = app.snapshot_file(&sha);
    assert_eq!(std::fs::read(&path).unwrap(), body, "read back from disk");
    assert_eq!(usage(&app, "ann").await, 300_000);

    let (status, again) = send(&app.router, upload_snapshot(&token, body)).await;
    assert_eq!(
        (status, &again["sha256"]),
        (StatusCode::CREATED, &json!(sha))
    );
    assert_eq!(
        usage(&app, "ann").await,
        300_000,
        "the same snapshot counts once"
    );
    assert_eq!(
        files_under(&app.files_dir()),
        [format!("{sha}.tar.gz")],
        "nothing staged is left"
    );
}

#[tokio::test]
async fn a_snapshot_over_the_quota_is_refused_and_leaves_nothing() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let router = with_quota(&app, 1_000_000);
    let first = snapshot(700_000, 1);
    let (status, _) = send(&router, upload_snapshot(&token, first.clone())).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, refused) = send(&router, upload_snapshot(&token, snapshot(400_000, 2))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    assert_eq!(refused["error"]["code"], "too_large");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("quota") && message.contains("1.0 MB") && message.contains("700.0 KB"),
        "names the quota and the usage: {message}"
    );
    assert_eq!(usage(&app, "ann").await, 700_000);
    assert_eq!(
        files_under(&app.files_dir()).len(),
        1,
        "no file and no temporary file"
    );

    // Sending one already kept costs nothing, so it passes even at the quota.
    let (status, _) = send(&router, upload_snapshot(&token, first)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_cut_short_or_malformed_snapshot_leaves_nothing_behind() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, answer) = send(&app.router, upload_snapshot(&token, cut_short(100_000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cut short"));
    let (status, answer) = send(&app.router, upload_snapshot(&token, vec![b'x'; 1000])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "body");

    let declared_too_big = Request::post("/api/v1/snapshots")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_LENGTH,
            (server::files::MAX_SNAPSHOT + 1).to_string(),
        )
        .body(Body::empty())
        .unwrap();
    let (status, answer) = send(&app.router, declared_too_big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 536.9 MB"));

    assert!(files_under(&app.files_dir()).is_empty());
    assert_eq!(usage(&app, "ann").await, 0);
}

/// A job of ann's leased by a runner; returns the runner's token and id and the job's uid.
async fn leased_job(app: &TestApp) -> (String, i64, String) {
    let ann = app::db::users::find_by_name(&app.db, "ann")
        .await
        .unwrap()
        .unwrap();
    let project = app::db::projects::create(&app.db, ann.id, "xray", "", false)
        .await
        .unwrap();
    let job = NewJob {
        name: "train".into(),
        created_by: Some(ann.id),
        run: Some(RunSpec {
            spec_name: "train".into(),
            spec_hash: "h".into(),
            spec_json: "{}".into(),
            ..RunSpec::default()
        }),
        ..NewJob::default()
    };
    let mut tx = app.db.begin().await.unwrap();
    let uid = app::db::jobs::insert_many(&mut tx, project, &[job])
        .await
        .unwrap()
        .remove(0)
        .uid;
    tx.commit().await.unwrap();
    let secret = "mr_runner-secret".to_owned();
    app::db::runners::create_token(&app.db, "gpus", &app::auth::hash_secret(&secret))
        .await
        .unwrap();
    let call = |path: &str, body: Value| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (_, registered) = send(
        &app.router,
        call("/api/v1/runner/register", json!({"name": "box"})),
    )
    .await;
    let runner = registered["runner_id"].as_i64().unwrap();
    let (status, leased) = send(
        &app.router,
        call("/api/v1/runner/lease", json!({"runner_id": runner})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{leased}");
    assert_eq!(leased["uid"], json!(uid));
    (secret, runner, uid)
}

fn put_artifact(secret: &str, runner: i64, uid: &str, path: &str, body: Body) -> Request<Body> {
    Request::put(format!(
        "/api/v1/runner/jobs/{uid}/artifacts/{path}?runner_id={runner}"
    ))
    .header(header::AUTHORIZATION, format!("Bearer {secret}"))
    .body(body)
    .unwrap()
}

#[tokio::test]
async fn artifacts_count_against_the_jobs_creator_and_a_replaced_one_counts_once() {
    let app = TestApp::new().await;
    let (secret, runner, uid) = leased_job(&app).await;
    let router = with_quota(&app, 1_000_000);
    let put = |path: &str, body: Body| put_artifact(&secret, runner, &uid, path, body);

    let (status, kept) = send(&router, put("out/model.pt", Body::from(vec![1u8; 600_000]))).await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    assert_eq!(kept["bytes"], 600_000);
    let file = app.artifacts_dir(&uid).join("out/model.pt");
    assert_eq!(std::fs::read(file).unwrap(), vec![1u8; 600_000]);
    assert_eq!(usage(&app, "ann").await, 600_000);

    // The same path again replaces the file: its new size counts, not both.
    let (status, _) = send(&router, put("out/model.pt", Body::from(vec![2u8; 900_000]))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(usage(&app, "ann").await, 900_000);

    // 200 KB more would be over the 1 MB quota: refused while streaming, nothing kept.
    let (status, refused) = send(&router, put("out/extra.bin", streamed(20, 10_000))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ann keeps 900.0 KB of the 1.0 MB"),
        "{message}"
    );
    assert_eq!(usage(&app, "ann").await, 900_000);
    let (status, cut) = send(&router, put("out/cut.bin", cut_short(50_000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{cut}");
    assert_eq!(
        files_under(&app.artifacts_dir(&uid).join("out")),
        ["model.pt"],
        "no refused file and no temporary file"
    );

    // Shrinking a file gives room back.
    let (status, _) = send(&router, put("out/model.pt", Body::from(vec![3u8; 100_000]))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(&router, put("out/extra.bin", streamed(20, 10_000))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(usage(&app, "ann").await, 300_000);
}

/// `POST /api/v1/projects/{project}/apply` of a job running snapshot `sha`, as `token`.
fn apply_with_snapshot(token: &str, project: &str, sha: &str) -> Request<Body> {
    let spec = json!({ "name": "train", "plan": { "command": { "shell": "python train.py" }, "snapshot": sha } });
    Request::post(format!("/api/v1/projects/{project}/apply"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(spec.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_snapshot_runs_only_for_its_uploader_or_in_a_project_that_already_runs_it() {
    let app = TestApp::new().await;
    let (_, ann_token) = app.token().await;
    let ann = app.user_id("ann").await;
    let xray = app::db::projects::create(&app.db, ann, "xray", "", false)
        .await
        .unwrap();
    let ben = app::db::users::create(&app.db, "ben", "Ben").await.unwrap();
    app::db::projects::create(&app.db, ben.id, "mine", "", false)
        .await
        .unwrap();
    let (_, ben_token) =
        app::auth::create_token(&app.db, ben.id, "test", app::model::TokenScope::Write, None)
            .await
            .unwrap();
    let (status, stored) = send(&app.router, upload_snapshot(&ann_token, snapshot(1_000, 5))).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let sha = stored["sha256"].as_str().unwrap().to_owned();

    let (status, refused) = send(
        &app.router,
        apply_with_snapshot(&ben_token, "ben/mine", &sha),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "ben learnt the hash of ann's code: {refused}"
    );
    assert_eq!(refused["error"]["field"], "plan.snapshot");

    let (status, queued) = send(
        &app.router,
        apply_with_snapshot(&ann_token, "ann/xray", &sha),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{queued}");

    // A member may run again what the project already runs, without uploading it himself.
    app::db::projects::add_member(&app.db, xray, ben.id)
        .await
        .unwrap();
    let rerun = json!({ "name": "again", "plan": { "command": { "shell": "python train.py" }, "snapshot": sha } });
    let request = Request::post("/api/v1/projects/ann/xray/apply")
        .header(header::AUTHORIZATION, format!("Bearer {ben_token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(rerun.to_string()))
        .unwrap();
    let (status, queued) = send(&app.router, request).await;
    assert_eq!(status, StatusCode::CREATED, "{queued}");
}
