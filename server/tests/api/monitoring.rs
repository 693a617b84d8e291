//! `GET /metrics`: requests by route pattern, points by every way in, the queue, runners and
//! open event streams, as Prometheus reads them.

use crate::helpers::TestApp;
use app::db::{self, jobs::NewJob, jobs::RunSpec, runners};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The value of the sample `series` (name and labels exactly as written) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let (status, headers, text) = app.get("/metrics", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    text
}

async fn post(app: &TestApp, bearer: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, text) = app.send(request).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Two queued jobs (one needing `a100`) in a new project of ann's.
async fn queue_two(app: &TestApp) {
    let ann = app.user_id("ann").await;
    let project = db::projects::create(&app.db, ann, "queued", "", false)
        .await
        .unwrap();
    let queued = |name: &str, labels: &[&str]| NewJob {
        name: name.into(),
        created_by: Some(ann),
        run: Some(RunSpec {
            spec_name: name.into(),
            spec_hash: "h".into(),
            spec_json: "{}".into(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            ..RunSpec::default()
        }),
        ..NewJob::default()
    };
    let mut tx = app.db.begin().await.unwrap();
    db::jobs::insert_many(
        &mut tx,
        project,
        &[queued("any", &[]), queued("big", &["a100"])],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn requests_count_by_route_pattern_and_points_by_every_way_in() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let bearer = format!("Bearer {token}");
    let (status, run) = post(&app, &bearer, "/api/2.0/mlflow/runs/create", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let uid = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();

    let points = json!({"points": [
        {"key": "loss", "step": 1, "value": 0.5},
        {"key": "loss", "step": 2, "value": 0.4},
        {"key": "acc", "step": 2, "value": 0.9},
    ]});
    let path = format!("/api/v1/jobs/{uid}/metrics");
    assert_eq!(post(&app, &bearer, &path, points).await.0, StatusCode::OK);
    let batch = json!({"run_id": uid, "metrics": [
        {"key": "lr", "value": 3e-4, "timestamp": 1, "step": 0},
        {"key": "lr", "value": 1e-4, "timestamp": 2, "step": 1},
    ]});
    let log_batch = "/api/2.0/mlflow/runs/log-batch";
    assert_eq!(
        post(&app, &bearer, log_batch, batch).await.0,
        StatusCode::OK
    );
    let one = json!({"run_id": uid, "key": "lr", "value": 5e-5, "timestamp": 3, "step": 2});
    let log_metric = "/api/2.0/mlflow/runs/log-metric";
    assert_eq!(post(&app, &bearer, log_metric, one).await.0, StatusCode::OK);
    // Refused writes store nothing and count nothing.
    let bad = json!({"points": [{"key": "loss", "step": "x", "value": 1}]});
    assert_eq!(
        post(&app, &bearer, &path, bad).await.0,
        StatusCode::BAD_REQUEST
    );
    for job in [uid.as_str(), uid.as_str(), "no-such-job"] {
        app.get(&format!("/api/v1/jobs/{job}"), Some(&bearer)).await;
    }
    app.get("/no/such/page/at/all.txt", Some(&bearer)).await;
    app.get("/pkg/not-built.js", None).await;
    queue_two(&app).await;
    let token = runners::create_token(&app.db, "gpu", "hash-gpu")
        .await
        .unwrap();
    let registration = runners::Registration {
        name: "gpu-1".into(),
        hostname: "h".into(),
        gpus: vec!["0".into()],
        labels: vec!["a100".into()],
        max_jobs: 1,
        ..Default::default()
    };
    runners::register(&app.db, token, &registration)
        .await
        .unwrap()
        .unwrap();

    let text = scrape(&app).await;
    let value = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}\n{text}"));
    assert_eq!(value("millrace_points_ingested_total"), 6.0);
    let job_route = r#"route="/api/v1/jobs/{uid}""#;
    assert_eq!(
        value(&format!(
            r#"millrace_http_requests_total{{method="GET",{job_route},status="200"}}"#
        )),
        2.0
    );
    assert_eq!(
        value(&format!(
            r#"millrace_http_requests_total{{method="GET",{job_route},status="404"}}"#
        )),
        1.0
    );
    assert_eq!(
        value(&format!(
            r#"millrace_http_request_duration_seconds_count{{method="GET",{job_route}}}"#
        )),
        3.0
    );
    for (route, status) in [
        ("/api/v1/jobs/{uid}/metrics", "200"),
        ("/api/v1/jobs/{uid}/metrics", "400"),
        ("/api/2.0/mlflow/runs/log-batch", "200"),
        ("/api/2.0/mlflow/runs/log-metric", "200"),
        ("/api/2.0/mlflow/runs/create", "200"),
    ] {
        let series = format!(
            r#"millrace_http_requests_total{{method="POST",route="{route}",status="{status}"}}"#
        );
        assert_eq!(value(&series), 1.0, "{series}");
    }
    assert_eq!(
        value(r#"millrace_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert_eq!(
        value(r#"millrace_http_requests_total{method="GET",route="/pkg/{file}",status="404"}"#),
        1.0
    );
    assert!(
        !text.contains(&uid) && !text.contains("no-such-job"),
        "ids in paths never become labels"
    );
    assert_eq!(value(r#"millrace_queue_depth{label=""}"#), 1.0);
    assert_eq!(value(r#"millrace_queue_depth{label="a100"}"#), 1.0);
    assert_eq!(value(r#"millrace_runners{state="idle"}"#), 1.0);
    assert_eq!(value(r#"millrace_runners{state="offline"}"#), 0.0);
    assert_eq!(value("millrace_database_up"), 1.0);
    assert!(value(r#"millrace_db_connections{state="in_use"}"#) >= 0.0);
    // Nothing runs the leader's duties in this app.
    assert_eq!(value("millrace_leader"), 0.0);
}

#[tokio::test]
async fn an_event_stream_counts_as_open_until_its_client_leaves() {
    let app = TestApp::new().await;
    let ann = app.user_id("ann").await;
    db::projects::create(&app.db, ann, "live", "", false)
        .await
        .unwrap();
    let (_, token) = app.token().await;
    let open = |scrape: &str| sample(scrape, "millrace_event_streams_open").unwrap();
    assert_eq!(open(&scrape(&app).await), 0.0);

    let request = Request::get("/api/v1/events?project=ann/live")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let stream = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mine = Request::get("/api/v1/events/mine")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let other = app.router.clone().oneshot(mine).await.unwrap();
    assert_eq!(open(&scrape(&app).await), 2.0);

    drop(stream);
    assert_eq!(open(&scrape(&app).await), 1.0);
    drop(other);
    assert_eq!(open(&scrape(&app).await), 0.0);
}
