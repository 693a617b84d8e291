//! `runs/search` without a filter is ordered and paged in SQL; with one, every run is looked at
//! in Rust. Both must answer the same runs in the same order, page by page, whatever the order.

use super::mlflow_bounds::Mlflow;
use axum::http::StatusCode;
use serde_json::{json, Value};

/// A filter every run passes, so the search takes the path that looks at each run.
const EVERY_RUN: &str = "attributes.start_time >= 0";

/// 60 runs with names, starts and ends that repeat, and losses that are numbers, NaN,
/// infinities, both zeros, or missing; some with an accuracy too.
async fn runs(mlflow: &Mlflow) -> String {
    let (_, made) = mlflow
        .post("experiments/create", json!({ "name": "sorted" }))
        .await;
    let experiment = made["experiment_id"].as_str().unwrap().to_owned();
    let losses = [
        json!(0.5),
        Value::Null,
        json!("NaN"),
        json!("Infinity"),
        json!(-2.0),
        json!("-Infinity"),
        json!(0.0),
        json!(-0.0),
        json!(0.25),
        json!(1e300),
        Value::Null,
    ];
    let names = ["b", "a", "B", "é", "a10", "a9"];
    for i in 0..60_usize {
        let body = json!({
            "experiment_id": experiment,
            "run_name": names[i % names.len()],
            "start_time": 1_000 + (i % 7) as i64,
        });
        let (status, run) = mlflow.post("runs/create", body).await;
        assert_eq!(status, StatusCode::OK, "{run}");
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let mut metrics = Vec::new();
        let loss = &losses[i % losses.len()];
        if !loss.is_null() {
            metrics.push(json!({ "key": "loss", "value": loss, "timestamp": 1, "step": 0 }));
        }
        if i % 3 == 0 {
            metrics.push(json!({ "key": "acc", "value": (i % 5) as f64, "timestamp": 1 }));
        }
        let (status, _) = mlflow
            .post(
                "runs/log-batch",
                json!({ "run_id": run_id, "metrics": metrics }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        if i % 4 == 0 {
            let end = json!({ "run_id": run_id, "status": "FINISHED", "end_time": 9_000 - (i % 3) as i64 });
            mlflow.post("runs/update", end).await;
        }
        if i % 10 == 9 {
            mlflow
                .post("runs/delete", json!({ "run_id": run_id }))
                .await;
        }
    }
    experiment
}

/// Every run id the search answers, following page tokens with pages of `max`.
async fn search(mlflow: &Mlflow, experiment: &str, mut body: Value, max: i64) -> Vec<String> {
    body["experiment_ids"] = json!([experiment]);
    body["max_results"] = json!(max);
    let mut ids = Vec::new();
    loop {
        let (status, answer) = mlflow.post("runs/search", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        for run in answer["runs"].as_array().unwrap() {
            ids.push(run["info"]["run_id"].as_str().unwrap().to_owned());
        }
        match answer.get("next_page_token") {
            Some(token) => body["page_token"] = token.clone(),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn ordered_in_sql_or_in_rust_a_search_answers_the_same_pages() {
    let mlflow = Mlflow::new().await;
    let experiment = runs(&mlflow).await;
    let orders: [&[&str]; 8] = [
        &[],
        &["metrics.loss"],
        &["metrics.loss DESC"],
        &["metrics.`acc` DESC", "attributes.run_name"],
        &["attributes.start_time"],
        &["attributes.end_time DESC", "metrics.loss"],
        &["run_name DESC"],
        &["attributes.created", "metrics.acc"],
    ];
    for order in orders {
        for view in ["ACTIVE_ONLY", "ALL"] {
            let body = json!({ "order_by": order, "run_view_type": view });
            let mut filtered = body.clone();
            filtered["filter"] = json!(EVERY_RUN);
            let whole = search(&mlflow, &experiment, filtered, 1000).await;
            assert_eq!(whole.len(), if view == "ALL" { 60 } else { 54 });
            for max in [1000, 7] {
                let in_sql = search(&mlflow, &experiment, body.clone(), max).await;
                assert_eq!(in_sql, whole, "{order:?} {view}, pages of {max}");
            }
        }
    }
    // The loss order itself: numbers, then NaN, then runs without a loss.
    let (_, answer) = mlflow
        .post(
            "runs/search",
            json!({ "experiment_ids": [experiment], "order_by": ["metrics.loss"] }),
        )
        .await;
    let losses: Vec<Value> = answer["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            let metrics = run["data"]["metrics"].as_array().unwrap();
            metrics
                .iter()
                .find(|m| m["key"] == "loss")
                .map_or(Value::Null, |m| m["value"].clone())
        })
        .collect();
    assert_eq!(losses.first(), Some(&json!("-Infinity")));
    let nan = losses.iter().position(|v| v == &json!("NaN")).unwrap();
    let missing = losses.iter().position(Value::is_null).unwrap();
    assert!(losses[..nan]
        .iter()
        .all(|v| v.is_number() || v == &json!("Infinity") || v == &json!("-Infinity")));
    assert!(nan < missing && losses[missing..].iter().all(Value::is_null));
}
