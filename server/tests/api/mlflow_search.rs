//! `runs/search` whose filter SQL can evaluate (or without one) is filtered, ordered and paged
//! in SQL; with any other, every run is looked at in Rust. Both must answer the same runs in the
//! same order, page by page, whatever the filter and the order.

use super::mlflow_bounds::Mlflow;
use axum::http::StatusCode;
use serde_json::{json, Value};

/// A filter every run passes that SQL does not evaluate (the creator's name), so a search with
/// it takes the path that looks at each run in Rust.
const RUST_ONLY: &str = "attributes.user_id != ''";

/// 60 runs with names, starts and ends that repeat, and losses that are numbers, NaN,
/// infinities, both zeros, or missing; some with an accuracy, some with a stage tag.
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
        let mut body = json!({
            "experiment_id": experiment,
            "run_name": names[i % names.len()],
            "start_time": 1_000 + (i % 7) as i64,
        });
        if i % 2 == 0 {
            let stage = ["prod", "dev", "Prod"][i % 3];
            body["tags"] = json!([{ "key": "stage", "value": stage }]);
        }
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
            filtered["filter"] = json!(RUST_ONLY);
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

#[tokio::test]
async fn filtered_in_sql_or_in_rust_a_search_answers_the_same_pages() {
    let mlflow = Mlflow::new().await;
    let experiment = runs(&mlflow).await;
    let filters = [
        "metrics.loss < 0.5",
        "metrics.loss >= 0",
        "metrics.loss = 0",
        "metrics.loss != 0.5",
        "metrics.loss IN (0.5, -2, 'x')",
        "metrics.loss NOT IN (0.5, 0.25)",
        "metrics.loss NOT IN ('x')",
        "metrics.loss = 'x'",
        "metrics.acc > 1 OR metrics.loss < 0",
        "attributes.status = 'FINISHED'",
        "attributes.status != 'RUNNING'",
        "attributes.status LIKE 'FIN%'",
        "attributes.lifecycle_stage = 'deleted'",
        "attributes.start_time > 1003",
        "attributes.end_time < 9000",
        "attributes.end_time = 0",
        "attributes.created >= 0",
        "attributes.run_name = 'a'",
        "attributes.run_name < 'a9'",
        "attributes.run_name IN ('a', 'é')",
        "attributes.run_name NOT IN ('b', 'B')",
        "tags.stage = 'prod'",
        "tags.stage != 'prod'",
        "tags.stage > 'dev'",
        "tags.stage IN ('Prod', 'dev')",
        "tags.stage NOT IN ('prod')",
        "(metrics.loss < 1 AND tags.stage = 'prod') OR attributes.status = 'FINISHED'",
        "attributes.nothing = 'x'",
    ];
    let orders: [&[&str]; 3] = [&[], &["metrics.loss"], &["attributes.run_name DESC"]];
    let mut found = 0;
    for filter in filters {
        for order in orders {
            for view in ["ACTIVE_ONLY", "ALL"] {
                let body = |filter: String| json!({ "filter": filter, "order_by": order, "run_view_type": view });
                let in_rust = body(format!("({filter}) AND {RUST_ONLY}"));
                let whole = search(&mlflow, &experiment, in_rust, 1000).await;
                found += whole.len();
                for max in [1000, 7] {
                    let in_sql = search(&mlflow, &experiment, body(filter.into()), max).await;
                    assert_eq!(in_sql, whole, "{filter} {order:?} {view}, pages of {max}");
                }
            }
        }
    }
    assert!(found > 1000, "the filters keep runs: {found}");
}
