//! Queries on `log_chunks`: a job's output, in arrival order.

use super::{Db, Tx};
use sqlx::AnyConnection;

/// A piece of a job's output.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Chunk {
    /// Position in the job's log, from 1.
    pub seq: i64,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The text, lines included.
    pub text: String,
    /// When it arrived, milliseconds since the Unix epoch.
    pub wall_ms: i64,
}

/// Appends a chunk to `job`'s log; returns its position.
pub async fn append(
    tx: &mut Tx,
    job: i64,
    stream: &str,
    text: &str,
    wall_ms: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO log_chunks (job_id, seq, stream, text, wall_ms)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM log_chunks WHERE job_id = $1
         RETURNING seq",
    )
    .bind(job)
    .bind(stream)
    .bind(text)
    .bind(wall_ms)
    .fetch_one(&mut **tx)
    .await
}

/// The chunks of `job` after position `after`, at most `limit`.
pub async fn after(
    conn: &mut AnyConnection,
    job: i64,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<Chunk>> {
    sqlx::query_as::<_, Chunk>(
        "SELECT seq, stream, text, wall_ms FROM log_chunks WHERE job_id = $1 AND seq > $2
         ORDER BY seq LIMIT $3",
    )
    .bind(job)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The last chunks of `job`'s output, at most `limit`, oldest first.
pub async fn tail(db: &Db, job: i64, limit: i64) -> sqlx::Result<Vec<Chunk>> {
    let mut chunks = sqlx::query_as::<_, Chunk>(
        "SELECT seq, stream, text, wall_ms FROM log_chunks WHERE job_id = $1
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(job)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    chunks.reverse();
    Ok(chunks)
}
