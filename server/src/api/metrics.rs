//! `POST /api/v1/jobs/{uid}/metrics`: a batch of metric points, all or nothing.

use super::access::WriteJob;
use super::error::{ApiError, ApiJson};
use super::jobs::MAX_NAME;
use crate::monitoring::Ingested;
use crate::protojson::{double, int64};
use app::db::{self, events, metrics::Point};
use app::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Value};

/// Most points one request may carry.
pub const MAX_POINTS: usize = 10_000;

/// Validates every point, then writes them all in one transaction with the job's summaries and
/// an event; the answer comes only after the commit. Body:
/// `{"points": [{"key": "loss", "step": 3, "value": 0.25, "wall_ms": 1700000000000}, ...]}`;
/// `step` and `wall_ms` may be strings of digits, `value` may be "NaN", "Infinity" or
/// "-Infinity", `wall_ms` defaults to now.
pub async fn append(
    State(state): State<AppState>,
    WriteJob(job): WriteJob,
    ApiJson(body): ApiJson<Value>,
) -> Result<(Extension<Ingested>, Json<Value>), ApiError> {
    let points = parse(&body, db::now_ms())?;
    let mut tx = state.db.begin().await?;
    let summaries = db::metrics::append_keyed(&mut tx, job.project_id, job.id, &points).await?;
    let keys: Vec<&str> = summaries.iter().map(|s| s.key.as_str()).collect();
    let payload = json!({ "keys": keys, "points": points.len() });
    events::append(
        &mut tx,
        "metrics",
        Some(job.project_id),
        Some(job.id),
        &payload,
    )
    .await?;
    tx.commit().await?;
    let accepted = points.len();
    Ok((
        Extension(Ingested(accepted)),
        Json(json!({ "accepted": accepted })),
    ))
}

/// The points of a request body, or the first problem with the field that has it.
fn parse(body: &Value, now_ms: i64) -> Result<Vec<(String, Point)>, ApiError> {
    let items = body
        .get("points")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("points", "expected {\"points\": [...]}"))?;
    if items.len() > MAX_POINTS {
        return Err(ApiError::invalid(
            "points",
            format!(
                "at most {MAX_POINTS} points per request, got {}",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            point(item, now_ms).map_err(|(f, m)| ApiError::invalid(format!("points[{i}].{f}"), m))
        })
        .collect()
}

fn point(item: &Value, now_ms: i64) -> Result<(String, Point), (&'static str, String)> {
    let key = item
        .get("key")
        .and_then(Value::as_str)
        .ok_or(("key", "a metric key (a string) is required".to_owned()))?;
    if key.is_empty() || key.chars().count() > MAX_NAME {
        return Err((
            "key",
            format!("a metric key has 1 to {MAX_NAME} characters"),
        ));
    }
    let step = match item.get("step") {
        None | Some(Value::Null) => 0,
        Some(v) => int64(v).ok_or(("step", format!("a step is a whole number, not {v}")))?,
    };
    let wall_ms = match item.get("wall_ms") {
        None | Some(Value::Null) => now_ms,
        Some(v) => int64(v)
            .ok_or(format!("wall_ms is milliseconds since 1970, not {v}"))
            .and_then(|ms| app::limits::check_time_ms("wall_ms", ms))
            .map_err(|message| ("wall_ms", message))?,
    };
    let value = item
        .get("value")
        .ok_or(("value", "a value is required".to_owned()))?;
    let value = double(value).ok_or((
        "value",
        format!("a value is a number, \"NaN\" or \"Infinity\", not {value}"),
    ))?;
    Ok((
        key.to_owned(),
        Point {
            step,
            wall_ms,
            value,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_values_come_as_numbers_or_strings() {
        let body = json!({"points": [
            {"key": "a", "step": "7", "value": "NaN", "wall_ms": 5},
            {"key": "a", "value": "-Infinity"},
            {"key": "b", "step": 2, "value": 1.5, "wall_ms": "9"}
        ]});
        let points = parse(&body, 100).unwrap();
        assert_eq!((points[0].1.step, points[0].1.wall_ms), (7, 5));
        assert!(points[0].1.value.is_nan());
        assert_eq!(
            (points[1].1.step, points[1].1.wall_ms, points[1].1.value),
            (0, 100, f64::NEG_INFINITY)
        );
        assert_eq!(
            (points[2].0.as_str(), points[2].1.value, points[2].1.wall_ms),
            ("b", 1.5, 9)
        );
    }

    #[test]
    fn a_bad_point_is_named_by_its_position_and_field() {
        let body =
            json!({"points": [{"key": "a", "value": 1}, {"key": "a", "step": 1.5, "value": 1}]});
        let error = parse(&body, 0).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("points[1].step"));
        let long = json!({"points": [{"key": "k".repeat(300), "value": 1}]});
        assert_eq!(
            parse(&long, 0).unwrap_err().field.as_deref(),
            Some("points[0].key")
        );
        assert_eq!(
            parse(&json!({"points": 3}), 0)
                .unwrap_err()
                .field
                .as_deref(),
            Some("points")
        );
    }
}
