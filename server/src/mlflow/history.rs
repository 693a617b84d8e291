//! `GET metrics/get-history-bulk`: one metric's whole history for up to 100 runs at once, as
//! MLflow's UI asks for it (runs by id, each run's points by time, step and value).

use super::args::Args;
use super::error::MlflowError;
use super::runs::{job_by_id, text};
use crate::protojson::double_json;
use app::auth::access::Act;
use app::auth::Caller;
use app::db;
use app::state::AppState;
use serde_json::{json, Value};

/// MLflow's limits: runs a request, and points an answer.
const MAX_RUNS: usize = 100;
const MAX_POINTS: i64 = 25_000;

/// `GET metrics/get-history-bulk?run_id=A&run_id=B&metric_key=K[&max_results=N]`.
pub async fn bulk(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let mut ids: Vec<String> = match args.0.get("run_id") {
        Some(Value::Array(ids)) => ids.iter().map(text).collect(),
        Some(id) => vec![text(id)],
        None => Vec::new(),
    };
    if ids.is_empty() {
        return Err(MlflowError::invalid(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if ids.len() > MAX_RUNS {
        return Err(MlflowError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_RUNS} run_ids. \
             Received {} run_ids.",
            ids.len()
        )));
    }
    let key = args.opt_str("metric_key").ok_or_else(|| {
        MlflowError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    let max = args
        .opt_i64("max_results")?
        .unwrap_or(MAX_POINTS)
        .clamp(1, MAX_POINTS);
    ids.sort();
    ids.dedup();
    let mut metrics = Vec::new();
    for id in &ids {
        let job = job_by_id(state, caller, id, Act::Read).await?;
        let left = max - metrics.len() as i64;
        if left <= 0 {
            break;
        }
        let mut conn = state.db.pool().acquire().await?;
        let Some(series) = db::metrics::series(&mut conn, job.id, key).await? else {
            continue;
        };
        let mut points: Vec<_> = db::metrics::points_after(&mut conn, series.id, None, left)
            .await?
            .into_iter()
            .map(|(_, point)| point)
            .collect();
        points.sort_by(|a, b| {
            (a.wall_ms, a.step)
                .cmp(&(b.wall_ms, b.step))
                .then(a.value.total_cmp(&b.value))
        });
        metrics.extend(points.iter().map(|p| {
            json!({ "key": key, "value": double_json(p.value), "timestamp": p.wall_ms,
                "step": p.step, "run_id": job.uid })
        }));
    }
    Ok(json!({ "metrics": metrics }))
}
