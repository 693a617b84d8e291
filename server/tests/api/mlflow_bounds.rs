//! The MLflow API under hostile input: filters and `order_by` past their limits, pathological
//! `LIKE` patterns and names, keys and values past MLflow's lengths are answered 400
//! (`INVALID_PARAMETER_VALUE`, naming the limit) quickly, and the server goes on serving.

use super::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// An app with a bearer token for `ann`.
pub(crate) struct Mlflow {
    app: TestApp,
    bearer: String,
}

impl Mlflow {
    pub(crate) async fn new() -> Self {
        let app = TestApp::new().await;
        let (_, token) = app.token().await;
        Self {
            app,
            bearer: format!("Bearer {token}"),
        }
    }

    /// POSTs `body` to MLflow's `call`; the status and the answer.
    pub(crate) async fn post(&self, call: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::post(format!("/api/2.0/mlflow/{call}"))
            .header(header::AUTHORIZATION, &self.bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _, text) = self.app.send(request).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new run in the Default experiment; its id.
    async fn run(&self, tags: Value) -> String {
        let (status, answer) = self.post("runs/create", json!({ "tags": tags })).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["run"]["info"]["run_id"].as_str().unwrap().to_owned()
    }

    /// Asserts the call is refused as MLflow refuses bad input, with `says` in the message.
    async fn refused(&self, call: &str, body: Value, says: &str) {
        let start = Instant::now();
        let (status, answer) = self.post(call, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{call}: {answer}");
        assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{call}: {message}");
        assert!(message.len() < 2_000, "the message does not echo the input");
        // A debug build on a shared machine; a release build answers many times faster.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    /// Asserts the server still answers searches.
    async fn alive(&self) {
        let (status, answer) = self
            .post("runs/search", json!({ "experiment_ids": ["0"] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
}

#[tokio::test]
async fn hostile_filters_are_refused_quickly_and_the_server_goes_on() {
    let mlflow = Mlflow::new().await;
    mlflow.run(json!([])).await;
    let search = |filter: String| json!({ "experiment_ids": ["0"], "filter": filter });
    let parens = format!(
        "{}metrics.a > 1{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    mlflow
        .refused("runs/search", search(parens), "the limit is 20000")
        .await;
    let chain = vec!["metrics.a > 1"; 100_000].join(" AND ");
    mlflow
        .refused("runs/search", search(chain), "the limit is 20000")
        .await;
    let deep = format!("{}metrics.a > 1{}", "(".repeat(51), ")".repeat(51));
    mlflow
        .refused("runs/search", search(deep), "more than 50 deep")
        .await;
    let terms = vec!["metrics.a>1"; 1_001].join(" AND ");
    mlflow
        .refused("runs/search", search(terms), "more than 1000 conditions")
        .await;
    mlflow.alive().await;

    // experiments/search answers GET too, so a link can carry the filter (as long as a URI
    // may be).
    let start = Instant::now();
    let filter = "(".repeat(30_000);
    let (status, _, body) = mlflow
        .app
        .get(
            &format!("/api/2.0/mlflow/experiments/search?filter={filter}"),
            Some(&mlflow.bearer),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("the limit is 20000"), "{body}");
    assert!(start.elapsed() < Duration::from_secs(2));
    mlflow.alive().await;
}

#[tokio::test]
async fn pathological_like_patterns_are_answered_quickly() {
    let mlflow = Mlflow::new().await;
    let long = "a".repeat(5_000);
    for _ in 0..10 {
        mlflow.run(json!([{ "key": "t", "value": long }])).await;
    }
    let search = |filter: String| json!({ "experiment_ids": ["0"], "filter": filter });

    // Many wildcards: one pass over each text, no match, no error.
    let start = Instant::now();
    let wildcards = format!("tags.t LIKE '{}b%'", "%a".repeat(4_000));
    let (status, answer) = mlflow.post("runs/search", search(wildcards)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["runs"], json!([]));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // A long segment that almost matches everywhere: more work than a search may spend.
    let near = format!("tags.t ILIKE '%{}b%'", "a".repeat(2_000));
    mlflow
        .refused("runs/search", search(near), "character comparisons")
        .await;
    mlflow.alive().await;
}

#[tokio::test]
async fn order_by_past_its_limits_is_refused() {
    let mlflow = Mlflow::new().await;
    let terms: Vec<String> = (0..21).map(|i| format!("metrics.m{i} DESC")).collect();
    mlflow
        .refused(
            "runs/search",
            json!({ "experiment_ids": ["0"], "order_by": terms }),
            "the limit is 20",
        )
        .await;
    let long = format!("params.{}", "k".repeat(300));
    mlflow
        .refused(
            "runs/search",
            json!({ "experiment_ids": ["0"], "order_by": [long] }),
            "the limit is 300",
        )
        .await;
    let fine = format!("params.{} DESC", "k".repeat(250));
    let (status, answer) = mlflow
        .post(
            "runs/search",
            json!({ "experiment_ids": ["0"], "order_by": [fine] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn names_keys_and_values_past_mlflows_limits_are_refused_on_every_write() {
    let mlflow = Mlflow::new().await;
    let run = mlflow.run(json!([])).await;
    let over = |n: usize| "x".repeat(n + 1);

    mlflow
        .refused(
            "runs/create",
            json!({ "run_name": over(250) }),
            "run_name has 251 characters; the limit is 250",
        )
        .await;
    let (status, _) = mlflow
        .post("runs/create", json!({ "run_name": "x".repeat(250) }))
        .await;
    assert_eq!(status, StatusCode::OK, "250 characters is allowed");
    mlflow
        .refused(
            "runs/update",
            json!({ "run_id": run, "run_name": over(250) }),
            "the limit is 250",
        )
        .await;
    mlflow
        .refused(
            "runs/set-tag",
            json!({ "run_id": run, "key": "t", "value": over(5_000) }),
            "the limit is 5000",
        )
        .await;
    mlflow
        .refused(
            "runs/set-tag",
            json!({ "run_id": run, "key": over(250), "value": "v" }),
            "the limit is 250",
        )
        .await;
    mlflow
        .refused(
            "runs/log-parameter",
            json!({ "run_id": run, "key": "p", "value": over(6_000) }),
            "the limit is 6000",
        )
        .await;
    let (status, answer) = mlflow
        .post(
            "runs/log-parameter",
            json!({ "run_id": run, "key": "p", "value": "x".repeat(6_000) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    mlflow
        .refused(
            "runs/log-metric",
            json!({ "run_id": run, "key": over(250), "value": 1.0, "timestamp": 1 }),
            "the limit is 250",
        )
        .await;
    mlflow
        .refused(
            "runs/log-batch",
            json!({ "run_id": run, "params": [{ "key": "q", "value": "1" }],
                    "tags": [{ "key": "t", "value": over(5_000) }] }),
            "the limit is 5000",
        )
        .await;
    mlflow
        .refused(
            "experiments/create",
            json!({ "name": over(500) }),
            "the limit is 500",
        )
        .await;
    mlflow
        .refused(
            "experiments/update",
            json!({ "experiment_id": "0", "new_name": over(500) }),
            "the limit is 500",
        )
        .await;
    mlflow
        .refused(
            "experiments/create",
            json!({ "name": "typed", "artifact_location": 9.0 }),
            "Invalid value 9.0 for parameter 'artifact_location' supplied",
        )
        .await;
    mlflow
        .refused(
            "experiments/create",
            json!({ "name": "typed", "tags": "5" }),
            "Invalid value \"5\" for parameter 'tags' supplied",
        )
        .await;
    let model = |extra: Value| {
        let mut body = json!({ "experiment_id": "0", "source_run_id": run });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    mlflow
        .refused(
            "logged-models",
            model(json!({ "name": over(250) })),
            "the limit is 250",
        )
        .await;
    mlflow
        .refused(
            "logged-models",
            model(json!({ "tags": [{ "key": "t", "value": over(5_000) }] })),
            "the limit is 5000",
        )
        .await;
    // The registry: a huge name with a '/' is refused for its length, not repeated back.
    mlflow
        .refused(
            "registered-models/create",
            json!({ "name": format!("a/{}", over(300)) }),
            "the limit is 256",
        )
        .await;
    mlflow
        .refused(
            "registered-models/create",
            json!({ "name": "churn", "description": over(5_000) }),
            "the limit is 5000",
        )
        .await;
    let tags: Vec<Value> = (0..101)
        .map(|i| json!({ "key": format!("t{i}"), "value": "1" }))
        .collect();
    mlflow
        .refused(
            "registered-models/create",
            json!({ "name": "churn", "tags": tags }),
            "the limit is 100",
        )
        .await;
    let models: Vec<Value> = (0..101)
        .map(|i| json!({ "model_id": format!("m-{i}") }))
        .collect();
    mlflow
        .refused(
            "runs/outputs",
            json!({ "run_id": run, "models": models }),
            "the limit is 100",
        )
        .await;
    let params: Vec<Value> = (0..101)
        .map(|i| json!({ "key": format!("p{i}"), "value": "1" }))
        .collect();
    mlflow
        .refused(
            "logged-models",
            model(json!({ "params": params })),
            "the limit is 100",
        )
        .await;

    // Nothing of the refused writes was stored: the name, the batch's parameter, the tag.
    let (_, _, body) = mlflow
        .app
        .get(
            &format!("/api/2.0/mlflow/runs/get?run_id={run}"),
            Some(&mlflow.bearer),
        )
        .await;
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert!(stored["run"]["info"]["run_name"].as_str().unwrap().len() < 250);
    let params = stored["run"]["data"]["params"].as_array().unwrap();
    assert_eq!(params.len(), 1, "only p: {params:?}");
    assert!(stored["run"]["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["key"] != "t"));
}

#[tokio::test]
async fn a_search_names_at_most_a_thousand_experiments() {
    let mlflow = Mlflow::new().await;
    let ids: Vec<String> = (0..1_001).map(|i| i.to_string()).collect();
    mlflow
        .refused(
            "runs/search",
            json!({ "experiment_ids": ids }),
            "at most 1000",
        )
        .await;
}

#[tokio::test]
async fn bulk_interval_samples_a_series_longer_than_one_read() {
    let mlflow = Mlflow::new().await;
    let run = mlflow.run(json!([])).await;
    for batch in 0..25 {
        let metrics: Vec<Value> = (batch * 1_000..(batch + 1) * 1_000)
            .map(|step| json!({ "key": "loss", "value": 1.0, "timestamp": 1_700_000_000_000i64 + step, "step": step }))
            .collect();
        let (status, answer) = mlflow
            .post(
                "runs/log-batch",
                json!({ "run_id": run, "metrics": metrics }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let request = Request::get(format!(
        "/api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={run}&metric_key=loss&max_results=11"
    ))
    .header(header::AUTHORIZATION, &mlflow.bearer)
    .body(Body::empty())
    .unwrap();
    let (status, _, text) = mlflow.app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let steps: Vec<i64> = answer["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps.len(), 11, "{steps:?}");
    assert_eq!((steps[0], steps[10]), (0, 24_999), "{steps:?}");
    assert!(
        steps.windows(2).all(|w| w[1] - w[0] >= 2_499),
        "evenly spaced: {steps:?}"
    );
}

#[tokio::test]
async fn times_outside_1970_to_9999_are_refused_before_any_arithmetic() {
    let lab = Mlflow::new().await;
    let run = lab.run(json!([])).await;
    lab.refused(
        "runs/update",
        json!({ "run_id": run, "status": "FINISHED", "end_time": i64::MAX }),
        "end_time 9223372036854775807 is not a time",
    )
    .await;
    lab.refused(
        "runs/log-metric",
        json!({ "run_id": run, "key": "loss", "value": 1, "timestamp": -1 }),
        "timestamp -1 is not a time",
    )
    .await;
    lab.refused(
        "runs/log-batch",
        json!({ "run_id": run, "metrics": [{ "key": "loss", "value": 1, "timestamp": i64::MAX, "step": 0 }] }),
        "timestamp 9223372036854775807 is not a time",
    )
    .await;
    lab.refused(
        "runs/create",
        json!({ "start_time": i64::MIN }),
        "start_time",
    )
    .await;
    // The run is untouched and still takes a real end time.
    let (status, answer) = lab
        .post(
            "runs/update",
            json!({ "run_id": run, "status": "FINISHED", "end_time": 253_402_300_799_999_i64 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
