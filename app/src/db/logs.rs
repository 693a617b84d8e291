//! Queries on `log_chunks`: a job's output, in arrival order.

use super::Tx;
use crate::model::LogCursor;
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
    // The job's row lock, held to commit, makes concurrent appends take turns; reading
    // MAX(seq) instead let two of them take the same position on PostgreSQL.
    let seq: i64 =
        sqlx::query_scalar("UPDATE jobs SET log_seq = log_seq + 1 WHERE id = $1 RETURNING log_seq")
            .bind(job)
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query(
        "INSERT INTO log_chunks (job_id, seq, stream, text, wall_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(job)
    .bind(seq)
    .bind(stream)
    .bind(text)
    .bind(wall_ms)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
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

/// Most bytes of output one read returns: whole lines only, so a single longer line is the one
/// exception, and it comes alone.
pub const READ_BYTES: usize = 1 << 20;

/// Output read from a [`LogCursor`], bounded in chunks and in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRead {
    /// The chunks, oldest first; the first and last may be parts of chunks, cut between lines.
    pub chunks: Vec<Chunk>,
    /// Where the next read starts.
    pub next: LogCursor,
    /// Whether output before the first chunk was left out (a tail read).
    pub cut: bool,
    /// Whether more output follows `next` already: the read stopped at its bound.
    pub more: bool,
}

/// `job`'s output from `from`: at most `limit` chunks and `budget` bytes of text, cut only
/// between lines. Only the chunks that are returned are read.
pub async fn read(
    conn: &mut AnyConnection,
    job: i64,
    from: LogCursor,
    limit: i64,
    budget: usize,
) -> sqlx::Result<LogRead> {
    let sizes = sizes(
        conn,
        "SELECT seq, CAST(octet_length(text) AS BIGINT) FROM log_chunks
         WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        job,
        from.after,
        limit + 1,
    )
    .await?;
    let usable = &sizes[..sizes.len().min(usize::try_from(limit).unwrap_or(0))];
    let skipped = usize::try_from(from.offset).unwrap_or(0);
    let wanted = chunks_to_read(usable, budget.saturating_add(skipped));
    let chunks = after(conn, job, from.after, wanted as i64).await?;
    let (chunks, next, stopped) = take_from(chunks, from, budget);
    Ok(LogRead {
        chunks,
        next,
        cut: false,
        more: stopped || sizes.len() > wanted,
    })
}

/// The end of `job`'s output: at most `limit` chunks and `budget` bytes of text, cut only
/// between lines, oldest first. Only the chunks that are returned are read.
pub async fn read_tail(
    conn: &mut AnyConnection,
    job: i64,
    limit: i64,
    budget: usize,
) -> sqlx::Result<LogRead> {
    let sizes = sizes(
        conn,
        "SELECT seq, CAST(octet_length(text) AS BIGINT) FROM log_chunks
         WHERE job_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3",
        job,
        i64::MAX,
        limit + 1,
    )
    .await?;
    let usable = &sizes[..sizes.len().min(usize::try_from(limit).unwrap_or(0))];
    let wanted = chunks_to_read(usable, budget);
    let Some(&(oldest, _)) = wanted.checked_sub(1).and_then(|i| usable.get(i)) else {
        return Ok(LogRead::default());
    };
    // Counted from the oldest wanted, so chunks appended since the sizes were read stay out.
    let chunks = after(conn, job, oldest - 1, wanted as i64).await?;
    let (chunks, cut_inside) = take_tail(chunks, budget);
    Ok(LogRead {
        next: LogCursor {
            after: chunks.last().map_or(0, |c| c.seq),
            offset: 0,
        },
        chunks,
        cut: cut_inside || sizes.len() > wanted,
        more: false,
    })
}

/// (seq, bytes) of the chunks `sql` picks.
async fn sizes(
    conn: &mut AnyConnection,
    sql: &str,
    job: i64,
    seq: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(sql)
        .bind(job)
        .bind(seq)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// How many of the chunks of `sizes` (in reading order) to read for `budget` bytes: those that
/// fit whole, and the next, whose lines may fit in part.
fn chunks_to_read(sizes: &[(i64, i64)], budget: usize) -> usize {
    let mut room = i64::try_from(budget).unwrap_or(i64::MAX);
    let mut wanted = 0;
    for &(_, bytes) in sizes {
        if room == 0 {
            break;
        }
        wanted += 1;
        if bytes > room {
            break;
        }
        room -= bytes;
    }
    wanted
}

/// The chunks from `from` (the first one from its offset) to at most `budget` bytes, whole lines
/// only but at least one line; the cursor after them; whether they stopped at the budget.
fn take_from(chunks: Vec<Chunk>, from: LogCursor, budget: usize) -> (Vec<Chunk>, LogCursor, bool) {
    let mut taken: Vec<Chunk> = Vec::new();
    let mut next = from;
    let mut room = budget;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let start = if i == 0 {
            line_start_from(&chunk.text, usize::try_from(from.offset).unwrap_or(0))
        } else {
            0
        };
        let rest = &chunk.text[start..];
        let end = start + head_within(rest, room, taken.is_empty());
        room = room.saturating_sub(end - start);
        if end > start {
            taken.push(Chunk {
                text: chunk.text[start..end].to_owned(),
                ..chunk.clone()
            });
        }
        if end < chunk.text.len() {
            next.offset = end as i64;
            return (taken, next, true);
        }
        next = LogCursor {
            after: chunk.seq,
            offset: 0,
        };
    }
    (taken, next, false)
}

/// The last of `chunks` to at most `budget` bytes, whole lines only but at least one line;
/// whether a chunk was cut.
fn take_tail(mut chunks: Vec<Chunk>, budget: usize) -> (Vec<Chunk>, bool) {
    let mut room = budget;
    let mut kept_any = false;
    for i in (0..chunks.len()).rev() {
        let text = &chunks[i].text;
        let start = tail_within(text, room, !kept_any);
        room = room.saturating_sub(text.len() - start);
        kept_any |= start < text.len();
        if start > 0 {
            let kept = text[start..].to_owned();
            chunks[i].text = kept;
            let first = if chunks[i].text.is_empty() { i + 1 } else { i };
            return (chunks.split_off(first), true);
        }
    }
    (chunks, false)
}

/// `offset` if a line starts there, else the start of the next line (a cursor made elsewhere).
fn line_start_from(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    if offset == 0 || offset >= bytes.len() || bytes[offset - 1] == b'\n' {
        return offset.min(bytes.len());
    }
    bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| offset + p + 1)
}

/// How many bytes of `text` to take with `room` left: all if they fit, else the whole lines
/// that fit, else its first line if nothing was taken yet (a line is never split), else none.
fn head_within(text: &str, room: usize, nothing_yet: bool) -> usize {
    let bytes = text.as_bytes();
    if bytes.len() <= room {
        return bytes.len();
    }
    match bytes[..room].iter().rposition(|&b| b == b'\n') {
        Some(p) => p + 1,
        None if nothing_yet => bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| p + 1),
        None => 0,
    }
}

/// Where the part of `text` to keep with `room` left starts: 0 if all of it fits, else the
/// start of the first line from which the rest fits, else its last line if nothing was kept
/// yet, else the end (keep nothing).
fn tail_within(text: &str, room: usize, nothing_yet: bool) -> usize {
    let bytes = text.as_bytes();
    if bytes.len() <= room {
        return 0;
    }
    // A line starts right after a newline; the text's own last newline starts nothing.
    let body = &bytes[..bytes.len() - 1];
    let earliest = bytes.len() - room;
    match body[earliest - 1..].iter().position(|&b| b == b'\n') {
        Some(p) => earliest + p,
        None if nothing_yet => body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1),
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{each_backend, project_with_job};

    #[tokio::test]
    async fn fifty_appends_at_once_to_one_job_take_positions_1_to_50() {
        each_backend(|db| async move {
            let (_, job) = project_with_job(&db).await;
            let appends = (0..50).map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await?;
                    let seq = append(&mut tx, job, "stdout", &format!("line {n}\n"), n).await?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(seq)
                })
            });
            let mut seqs = Vec::new();
            for append in appends.collect::<Vec<_>>() {
                seqs.push(append.await.unwrap().expect("no append collides"));
            }
            seqs.sort_unstable();
            assert_eq!(seqs, (1..=50).collect::<Vec<i64>>());
            let mut conn = db.pool().acquire().await.unwrap();
            assert_eq!(after(&mut conn, job, 0, 100).await.unwrap().len(), 50);
        })
        .await;
    }

    fn chunk(seq: i64, text: &str) -> Chunk {
        Chunk {
            seq,
            stream: "stdout".into(),
            text: text.into(),
            wall_ms: 0,
        }
    }

    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn a_forward_read_stops_between_lines_at_its_budget_and_resumes_there() {
        let chunks = vec![chunk(1, "aa\nbb\n"), chunk(2, "cc\ndd\nee\n")];
        let (got, next, stopped) = take_from(chunks.clone(), LogCursor::default(), 10);
        assert_eq!(texts(&got), ["aa\nbb\n", "cc\n"]);
        assert_eq!(
            (next, stopped),
            (
                LogCursor {
                    after: 1,
                    offset: 3
                },
                true
            )
        );
        let (got, next, stopped) = take_from(chunks[1..].to_vec(), next, 10);
        assert_eq!(texts(&got), ["dd\nee\n"]);
        assert_eq!(
            (next, stopped),
            (
                LogCursor {
                    after: 2,
                    offset: 0
                },
                false
            )
        );
    }

    #[test]
    fn a_line_longer_than_the_budget_comes_whole_and_alone() {
        let chunks = vec![chunk(1, "0123456789\nx\n")];
        let (got, next, stopped) = take_from(chunks.clone(), LogCursor::default(), 4);
        assert_eq!(texts(&got), ["0123456789\n"]);
        assert_eq!(
            (next, stopped),
            (
                LogCursor {
                    after: 0,
                    offset: 11
                },
                true
            )
        );
        let (got, _) = take_tail(vec![chunk(1, "x\n0123456789\n")], 4);
        assert_eq!(texts(&got), ["0123456789\n"]);
    }

    #[test]
    fn a_cursor_inside_a_line_moves_on_to_the_next_line() {
        let from = LogCursor {
            after: 0,
            offset: 2,
        };
        let (got, _, _) = take_from(vec![chunk(1, "héllo\nworld\n")], from, 100);
        assert_eq!(texts(&got), ["world\n"], "never half a line, never a panic");
        let past_the_end = LogCursor {
            after: 0,
            offset: 99,
        };
        let (got, next, _) = take_from(vec![chunk(1, "a\n"), chunk(2, "b\n")], past_the_end, 100);
        assert_eq!((texts(&got), next.after), (vec!["b\n"], 2));
    }

    #[test]
    fn a_tail_keeps_the_last_whole_lines_that_fit() {
        let chunks = vec![chunk(1, "aa\nbb\n"), chunk(2, "cc\ndd\n")];
        let (got, cut) = take_tail(chunks.clone(), 9);
        assert_eq!((texts(&got), cut), (vec!["bb\n", "cc\ndd\n"], true));
        let (got, cut) = take_tail(chunks.clone(), 12);
        assert_eq!((texts(&got), cut), (vec!["aa\nbb\n", "cc\ndd\n"], false));
        let (got, cut) = take_tail(chunks, 7);
        assert_eq!(
            (texts(&got), cut),
            (vec!["cc\ndd\n"], true),
            "1 byte: no line fits"
        );
    }

    /// Appends `count` chunks of `lines` lines of `width` bytes each.
    async fn fill(
        db: &crate::db::Db,
        job: i64,
        count: usize,
        lines: usize,
        width: usize,
    ) -> String {
        let mut all = String::new();
        let mut tx = db.begin().await.unwrap();
        for c in 0..count {
            let text: String = (0..lines)
                .map(|l| format!("{:0>w$}\n", c * lines + l, w = width - 1))
                .collect();
            append(&mut tx, job, "stdout", &text, 0).await.unwrap();
            all.push_str(&text);
        }
        tx.commit().await.unwrap();
        all
    }

    #[tokio::test]
    async fn reads_bounded_in_bytes_return_every_line_once_in_order() {
        each_backend(|db| async move {
            let (_, job) = project_with_job(&db).await;
            // 40 chunks of 100 lines of 100 bytes: 400 KB, read 30 KB at a time.
            let all = fill(&db, job, 40, 100, 100).await;
            let mut conn = db.pool().acquire().await.unwrap();
            let mut read_back = String::new();
            let mut from = LogCursor::default();
            let mut reads = 0;
            loop {
                let page = read(&mut conn, job, from, 500, 30_000).await.unwrap();
                let bytes: usize = page.chunks.iter().map(|c| c.text.len()).sum();
                assert!(bytes <= 30_000, "{bytes}");
                assert!(page.chunks.iter().all(|c| c.text.ends_with('\n')));
                read_back.extend(page.chunks.iter().map(|c| c.text.as_str()));
                from = page.next;
                reads += 1;
                if !page.more {
                    break;
                }
            }
            assert_eq!(read_back, all);
            assert_eq!(reads, 14, "400 KB in 30 KB reads");
            let empty = read(&mut conn, job, from, 500, 30_000).await.unwrap();
            assert_eq!(
                (empty.chunks.len(), empty.next, empty.more),
                (0, from, false)
            );

            let tail = read_tail(&mut conn, job, 500, 30_000).await.unwrap();
            let text: String = tail.chunks.iter().map(|c| c.text.as_str()).collect();
            assert_eq!(text.len(), 30_000);
            assert!(all.ends_with(&text) && tail.cut);
            assert_eq!(
                tail.next,
                LogCursor {
                    after: 40,
                    offset: 0
                }
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_read_stops_at_its_chunk_limit_and_says_there_is_more() {
        each_backend(|db| async move {
            let (_, job) = project_with_job(&db).await;
            fill(&db, job, 5, 1, 10).await;
            let mut conn = db.pool().acquire().await.unwrap();
            let page = read(&mut conn, job, LogCursor::default(), 3, READ_BYTES)
                .await
                .unwrap();
            assert_eq!(
                (page.chunks.len(), page.next.after, page.more),
                (3, 3, true)
            );
            let page = read(&mut conn, job, page.next, 3, READ_BYTES)
                .await
                .unwrap();
            assert_eq!(
                (page.chunks.len(), page.next.after, page.more),
                (2, 5, false)
            );
            let tail = read_tail(&mut conn, job, 10, READ_BYTES).await.unwrap();
            assert_eq!(
                (tail.chunks.len(), tail.cut),
                (5, false),
                "all of it: nothing cut"
            );
        })
        .await;
    }
}
