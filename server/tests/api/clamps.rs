//! Bounded input outside the MLflow API: `/api/v1` applies MLflow's lengths to names, keys and
//! values; the sweep clone form answers any changes with an error or a sweep, never a panic;
//! server functions clamp the settings they are sent as a URL would.

use super::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

/// An app with project `ann/lab`, a job `keep` in it with metric `loss` at steps 0..50, and
/// a token of ann's.
struct Lab {
    app: TestApp,
    bearer: String,
}

impl Lab {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let ann = app::db::users::find_by_name(&app.db, "ann")
            .await
            .unwrap()
            .unwrap();
        app::db::projects::create(&app.db, ann.id, "lab", "", false)
            .await
            .unwrap();
        let (_, token) = app.token().await;
        let lab = Self {
            app,
            bearer: format!("Bearer {token}"),
        };
        let (status, job) = lab
            .post("/api/v1/projects/ann/lab/jobs", json!({ "name": "keep" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        let points: Vec<Value> = (0..50)
            .map(|step| json!({ "key": "loss", "step": step, "value": (step % 7) as f64 }))
            .collect();
        let uid = job["uid"].as_str().unwrap();
        let (status, _) = lab
            .post(
                &format!("/api/v1/jobs/{uid}/metrics"),
                json!({ "points": points }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        lab
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::post(path)
            .header(header::AUTHORIZATION, &self.bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _, text) = self.app.send(request).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn new_jobs_take_mlflows_lengths_for_tags_and_parameters() {
    let lab = Lab::new().await;
    let create = |body: Value| lab.post("/api/v1/projects/ann/lab/jobs", body);
    let (status, answer) =
        create(json!({ "name": "a", "params": { "lr": "x".repeat(6_001) } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "params.lr");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the limit is 6000"));
    let (status, answer) = create(json!({ "name": "a", "params": { "k".repeat(251): 1 } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = create(json!({ "name": "a", "tags": { "t": "x".repeat(5_001) } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the limit is 5000"));
    let (status, answer) = create(json!({ "name": "a", "tags": { "t": "x".repeat(5_000) },
                                          "params": { "p": "x".repeat(6_000) } }))
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "MLflow's limits themselves pass: {answer}"
    );
}

#[tokio::test]
async fn a_clone_form_that_cuts_a_range_short_answers_with_the_error() {
    let lab = Lab::new().await;
    let spec = "sweep: s\nproject: ann/lab\njob:\n  command: run {{x}}\n\
                space: {x: {uniform: [0, 1]}}\nobjective: {metric: loss, goal: minimize}\n\
                algorithm: random\ntrials: 4\n";
    let request = json!({ "spec": server::spec::parse_sweep("s.yaml", spec).unwrap() });
    let (status, answer) = lab.post("/api/v1/projects/ann/lab/sweeps", request).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["id"].as_i64().unwrap();
    let request = Request::post(format!("/api/v1/sweeps/{id}/clone"))
        .header(header::AUTHORIZATION, &lab.bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "changes=space.x.uniform%3D%5B1%5D%0Aspace.x.high%3D2",
        ))
        .unwrap();
    let (status, headers, _) = lab.app.send(request).await;
    assert!(status.is_redirection(), "{status}");
    let location = headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.contains(&format!("sweep={id}&cerr=")),
        "{location}"
    );
    assert!(location.contains("no%20high%20bound"), "{location}");
}

#[tokio::test]
async fn server_functions_clamp_chart_settings_like_a_url() {
    let lab = Lab::new().await;
    let panels = |keys: String, smooth: f64| {
        let chart = json!({ "keys": keys, "smooth": smooth, "x": "Step", "log_y": false,
                            "y_min": null, "y_max": null, "size": "Medium", "from": null,
                            "to": null });
        lab.post(
            "/api/get_metric_panels",
            json!({ "owner": "ann", "project": "lab", "job": "1", "chart": chart }),
        )
    };
    let (status, absurd) = panels(String::new(), 50.0).await;
    assert_eq!(status, StatusCode::OK, "{absurd}");
    assert_eq!(absurd["panels"].as_array().unwrap().len(), 1, "{absurd}");
    let (_, clamped) = panels(String::new(), 0.99).await;
    assert_eq!(absurd, clamped, "smoothing of 50 is smoothing of 0.99");
    // Cut to its first 200 characters, the filter no longer reaches `|loss`.
    let (_, cut) = panels(format!("{}|loss", "z".repeat(200)), 0.0).await;
    assert_eq!(cut["keys"], json!([]), "{cut}");
}

#[tokio::test]
async fn server_functions_clamp_column_and_table_queries_like_a_url() {
    let lab = Lab::new().await;
    let filter = json!({ "text": format!("   keep{}", " ".repeat(10_000)), "statuses": [],
                         "tag": null, "archived": false });
    let query = json!({ "sort": { "metric": "" }, "dir": "asc", "filter": filter });
    let (status, page) = lab
        .post(
            "/api/list_jobs",
            json!({ "owner": "ann", "project": "lab", "query": query, "cursor": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["items"][0]["name"], "keep",
        "the text is trimmed: {page}"
    );

    let columns: Vec<Value> = (0..10_000)
        .map(|i| json!({ "Param": format!("p{i}") }))
        .collect();
    let table = json!({ "columns": columns, "sort": { "Param": "" }, "dir": "asc" });
    let (status, page) = lab
        .post(
            "/api/get_job_table",
            json!({ "owner": "ann", "project": "lab", "filter": filter, "table": table,
                    "offset": 0, "limit": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let cells = page["rows"][0]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), app::project_query::MAX_COLUMNS);
}
