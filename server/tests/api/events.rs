//! Server-sent events: a write reaches an open stream; a reconnect resumes after Last-Event-ID.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A project `ann/live` with one running job; the app, ann's token and the job's uid.
async fn with_job() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    // Live streams need the pump, started (its starting point read) before anything is written;
    // it ends with the test's runtime.
    let pump = server::events::start_pump(app.state.clone(), std::future::pending()).await;
    drop(pump);
    let ann = app::db::users::find_by_name(&app.db, "ann")
        .await
        .unwrap()
        .unwrap();
    app::db::projects::create(&app.db, ann.id, "live", "", false)
        .await
        .unwrap();
    let (_, token) = app.token().await;
    let (status, _, text) = app
        .send(
            Request::post("/api/v1/projects/ann/live/jobs")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"name": "watched"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let uid = serde_json::from_str::<serde_json::Value>(&text).unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, token, uid)
}

async fn log_point(app: &TestApp, token: &str, uid: &str, step: i64) {
    let body = format!(r#"{{"points": [{{"key": "loss", "step": {step}, "value": 0.5}}]}}"#);
    let (status, _, text) = app
        .send(
            Request::post(format!("/api/v1/jobs/{uid}/metrics"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

/// Opens the stream, with `Last-Event-ID` when given.
async fn open(app: &TestApp, token: &str, query: &str, last: Option<&str>) -> (StatusCode, Body) {
    let mut request = Request::get(format!("/api/v1/events?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    (response.status(), response.into_body())
}

/// Reads the stream until `count` events (with ids) arrived or 3 s passed.
async fn events(body: &mut Body, count: usize) -> Vec<(i64, String, serde_json::Value)> {
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let parsed = parse(&text);
        if parsed.len() >= count || Instant::now() > deadline {
            return parsed;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(Some(Ok(frame))) = tokio::time::timeout(left, body.frame()).await {
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

fn parse(text: &str) -> Vec<(i64, String, serde_json::Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block.lines().find_map(|l| {
                    l.strip_prefix(&format!("{name}:"))
                        .map(|v| v.trim().to_owned())
                })
            };
            Some((
                field("id")?.parse().ok()?,
                field("event")?,
                serde_json::from_str(&field("data")?).ok()?,
            ))
        })
        .collect()
}

#[tokio::test]
async fn a_logged_point_reaches_an_open_stream_with_its_job() {
    let (app, token, uid) = with_job().await;
    let (status, mut body) = open(&app, &token, "project=ann/live", None).await;
    assert_eq!(status, StatusCode::OK);
    let sent = Instant::now();
    log_point(&app, &token, &uid, 1).await;
    let got = events(&mut body, 1).await;
    println!("event arrived {:?} after the write", sent.elapsed());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "metrics");
    assert_eq!(
        (got[0].2["job"].as_str(), got[0].2["number"].as_i64()),
        (Some(uid.as_str()), Some(1))
    );
}

#[tokio::test]
async fn a_reconnect_after_last_event_id_gets_what_it_missed_and_no_more() {
    let (app, token, uid) = with_job().await;
    let (_, mut first) = open(&app, &token, &format!("project=ann/live&job={uid}"), None).await;
    log_point(&app, &token, &uid, 1).await;
    let seen = events(&mut first, 1).await;
    drop(first);
    // While disconnected: two more points.
    log_point(&app, &token, &uid, 2).await;
    log_point(&app, &token, &uid, 3).await;
    let last = seen[0].0.to_string();
    let (_, mut again) = open(
        &app,
        &token,
        &format!("project=ann/live&job={uid}"),
        Some(&last),
    )
    .await;
    let missed = events(&mut again, 2).await;
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert!(missed
        .iter()
        .all(|(id, kind, _)| *id > seen[0].0 && kind == "metrics"));
    assert!(missed[0].0 < missed[1].0);
}

#[tokio::test]
async fn streams_of_unknown_or_malformed_projects_are_refused() {
    let (app, token, _) = with_job().await;
    assert_eq!(
        open(&app, &token, "project=ann/nope", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        open(&app, &token, "project=nope", None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        open(&app, &token, "", None).await.0,
        StatusCode::BAD_REQUEST
    );
}

/// Sets job `uid`'s status through the API with `token`.
async fn set_status(app: &TestApp, token: &str, uid: &str, status: &str) {
    let (code, _, text) = app
        .send(
            Request::post(format!("/api/v1/jobs/{uid}/status"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(r#"{{"status": "{status}"}}"#)))
                .unwrap(),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn my_jobs_stream_tells_when_my_jobs_change_state_and_nothing_more() {
    let (app, token, uid) = with_job().await;
    // Ben, with a job of his own in ann's public project.
    let ben = app::db::users::create(&app.db, "ben", "Ben").await.unwrap();
    let (_, ben_token) =
        app::auth::create_token(&app.db, ben.id, "t", app::model::TokenScope::Write, None)
            .await
            .unwrap();
    let project = app::db::projects::create(&app.db, ben.id, "bens", "", false)
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    let theirs = app::db::jobs::create(
        &mut tx,
        project,
        &app::db::jobs::NewJob {
            created_by: Some(ben.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/events/mine")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    log_point(&app, &token, &uid, 1).await;
    set_status(&app, &ben_token, &theirs.uid, "failed").await;
    set_status(&app, &token, &uid, "failed").await;
    let got = events(&mut body, 2).await;
    assert_eq!(got.len(), 1, "only ann's status change: {got:?}");
    assert_eq!(got[0].1, "job.status");
    assert_eq!(got[0].2, serde_json::json!({}), "no details");

    let anonymous = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/events/mine")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
