//! A job's output on its way to the server: lines read with a length cap, then uploaded in
//! batches that are retried until the server has them.

use super::metrics::MetricReader;
use crate::client::{CallError, Client};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

/// Longest line kept whole; the rest of a longer line is dropped and the cut marked.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines per upload at most.
const BATCH_LINES: usize = 2_000;
/// Bytes per upload at most (well under the server's body limit).
const BATCH_BYTES: usize = 4 << 20;
/// How long lines gather before they are sent.
const BATCH_WAIT: Duration = Duration::from_millis(150);

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    /// The text, without its line break; invalid UTF-8 replaced.
    pub text: String,
    /// When it was read, ms since the Unix epoch.
    pub wall_ms: i64,
}

/// Reads `source` line by line into `lines` until it closes. A line longer than [`MAX_LINE`]
/// bytes is cut there and marked; the reader never holds more than that of one line.
/// When `lines` is full this waits, and so, through the pipe, does the job.
pub async fn read_lines(
    source: impl AsyncRead + Unpin,
    stream: &'static str,
    lines: mpsc::Sender<Line>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, source);
    let mut current: Vec<u8> = Vec::new();
    let mut dropped: u64 = 0;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let (part, ends_line) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], true),
            None => (chunk, false),
        };
        let room = MAX_LINE.saturating_sub(current.len());
        current.extend_from_slice(&part[..part.len().min(room)]);
        dropped += part.len().saturating_sub(room) as u64;
        let used = part.len() + usize::from(ends_line);
        reader.consume(used);
        if ends_line
            && lines
                .send(finish_line(&mut current, &mut dropped, stream))
                .await
                .is_err()
        {
            return;
        }
    }
    if !current.is_empty() || dropped > 0 {
        let _ = lines
            .send(finish_line(&mut current, &mut dropped, stream))
            .await;
    }
}

fn finish_line(bytes: &mut Vec<u8>, dropped: &mut u64, stream: &'static str) -> Line {
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if *dropped > 0 {
        text.push_str(&format!(
            " … [millrace: line cut at {MAX_LINE} bytes, {dropped} more bytes dropped]"
        ));
    }
    bytes.clear();
    *dropped = 0;
    Line {
        stream,
        text,
        wall_ms: app::db::now_ms(),
    }
}

/// Why an upload stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadEnd {
    /// Every line reached the server.
    Done,
    /// The server says this runner no longer holds the job.
    LeaseLost,
    /// The server refused the runner's token.
    Unauthorized,
}

/// Sends the lines that arrive on `lines` to the server as job `uid`'s output, from line
/// `from`, with the metric points `metrics` picks out of them. A batch that fails for a
/// transient reason (server away, restarting) is sent again until it is stored: nothing is
/// lost while the server is briefly gone, and meanwhile `lines` fills and holds the job back.
pub async fn upload(
    client: Client,
    runner_id: i64,
    uid: String,
    mut from: i64,
    mut metrics: Option<MetricReader>,
    mut lines: mpsc::Receiver<Line>,
) -> UploadEnd {
    let path = format!("/api/v1/runner/jobs/{uid}/output");
    let mut open = true;
    while open {
        let Some(first) = lines.recv().await else {
            break;
        };
        let mut batch = vec![first];
        let mut bytes = batch[0].text.len();
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_LINES && bytes < BATCH_BYTES {
            match tokio::time::timeout_at(deadline, lines.recv()).await {
                Ok(Some(line)) => {
                    bytes += line.text.len();
                    batch.push(line);
                }
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        let body = batch_body(runner_id, from, &batch, metrics.as_mut());
        match send_until_stored(&client, &path, &body).await {
            Ok(()) => from += batch.len() as i64,
            Err(end) => return end,
        }
    }
    UploadEnd::Done
}

fn batch_body(
    runner_id: i64,
    from: i64,
    batch: &[Line],
    metrics: Option<&mut MetricReader>,
) -> Value {
    let mut points = Vec::new();
    if let Some(reader) = metrics {
        for (i, line) in batch.iter().enumerate() {
            for (key, step, value) in reader.read(&line.text) {
                // JSON has no NaN; such values are skipped rather than sent as null.
                if value.is_finite() {
                    points.push(json!({ "line": from + i as i64, "key": key, "step": step,
                                        "value": value, "wall_ms": line.wall_ms }));
                }
            }
        }
    }
    let lines: Vec<Value> = batch
        .iter()
        .map(|l| json!({ "stream": l.stream, "text": l.text }))
        .collect();
    json!({ "runner_id": runner_id, "from": from, "lines": lines, "points": points })
}

/// Posts until the server stores the batch, backing off while it is unreachable.
async fn send_until_stored(client: &Client, path: &str, body: &Value) -> Result<(), UploadEnd> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match client.post::<_, Value>(path, body).await {
            Ok(_) => return Ok(()),
            Err(error) => match classify(&error) {
                Some(end) => return Err(end),
                None => {
                    tracing::warn!(%error, "output upload failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            },
        }
    }
}

/// What a failed call means for a job: `None` to try again.
pub fn classify(error: &CallError) -> Option<UploadEnd> {
    match error.status().map(|s| s.as_u16()) {
        Some(401) => Some(UploadEnd::Unauthorized),
        Some(409) => Some(UploadEnd::LeaseLost),
        _ if error.is_transient() => None,
        // A 4xx other than these is a bug of ours; retrying cannot help, so give the batch up.
        _ => {
            tracing::error!(%error, "the server refused output");
            Some(UploadEnd::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: Vec<u8>) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(100);
        read_lines(&input[..], "stdout", tx).await;
        let mut out = Vec::new();
        while let Some(line) = rx.recv().await {
            out.push(line.text);
        }
        out
    }

    #[tokio::test]
    async fn lines_are_split_and_crlf_and_a_last_unterminated_line_kept() {
        assert_eq!(lines_of(b"a\r\nb\n\nc".to_vec()).await, ["a", "b", "", "c"]);
    }

    #[tokio::test]
    async fn a_huge_line_is_cut_and_marked_and_the_next_line_survives() {
        let mut input = vec![b'x'; 50 << 20];
        input.extend_from_slice(b"\nnext\n");
        let lines = lines_of(input).await;
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(&"x".repeat(MAX_LINE)));
        assert!(lines[0].ends_with(&format!("{} more bytes dropped]", (50 << 20) - MAX_LINE)));
        assert_eq!(lines[1], "next");
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_not_refused() {
        assert_eq!(
            lines_of(b"ok \xff\xfe end\n".to_vec()).await,
            ["ok \u{fffd}\u{fffd} end"]
        );
    }
}
