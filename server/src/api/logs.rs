//! `POST /api/v1/jobs/{uid}/logs`: lines of a job's output.

use super::access::WriteJob;
use super::error::{ApiError, ApiJson};
use app::db::{self, events};
use app::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most lines one request may carry.
pub const MAX_LINES: usize = 10_000;

/// Body of a log append.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogBody {
    lines: Vec<LogLine>,
}

/// One line of output.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// `stdout` (the default) or `stderr`.
    #[serde(default)]
    stream: Option<String>,
    text: String,
}

/// Appends the lines in one transaction, runs of the same stream as one chunk each.
pub async fn append(
    State(state): State<AppState>,
    WriteJob(job): WriteJob,
    ApiJson(body): ApiJson<LogBody>,
) -> Result<Json<Value>, ApiError> {
    if body.lines.len() > MAX_LINES {
        return Err(ApiError::invalid(
            "lines",
            format!("at most {MAX_LINES} lines per request"),
        ));
    }
    let mut runs: Vec<(&str, String)> = Vec::new();
    for (i, line) in body.lines.iter().enumerate() {
        let stream = match line.stream.as_deref() {
            None | Some("stdout") => "stdout",
            Some("stderr") => "stderr",
            Some(other) => {
                return Err(ApiError::invalid(
                    format!("lines[{i}].stream"),
                    format!("stream is stdout or stderr, not '{other}'"),
                ))
            }
        };
        match runs.last_mut() {
            Some((s, text)) if *s == stream => {
                text.push_str(&line.text);
                text.push('\n');
            }
            _ => runs.push((stream, format!("{}\n", line.text))),
        }
    }
    let now = db::now_ms();
    let mut tx = state.db.begin().await?;
    for (stream, text) in &runs {
        db::logs::append(&mut tx, job.id, stream, text, now).await?;
    }
    events::append(
        &mut tx,
        "logs",
        Some(job.project_id),
        Some(job.id),
        &json!({ "lines": body.lines.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "accepted": body.lines.len() })))
}
