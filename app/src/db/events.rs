//! Queries on `events`: the ordered sequence of changes that live views follow.

use super::Tx;
use sqlx::AnyConnection;

/// One change, as live views read it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    /// Position in the sequence; increases with every write.
    pub id: i64,
    /// When it was written, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What changed, e.g. `job.created`, `job.status`, `metrics`.
    pub kind: String,
    /// The project it concerns.
    pub project_id: Option<i64>,
    /// The job it concerns.
    pub job_id: Option<i64>,
    /// Details, a JSON object.
    pub payload: String,
    /// The global id of the job it concerns.
    pub job_uid: Option<String>,
    /// That job's number in its project.
    pub job_number: Option<i64>,
    /// Who created that job.
    pub job_creator: Option<i64>,
}

/// The columns of [`Event`], from events `e` with their job `j`.
const SELECT_EVENT: &str = "SELECT e.id, e.at_ms, e.kind, e.project_id, e.job_id, e.payload,
        j.uid AS job_uid, j.number AS job_number, j.created_by AS job_creator
     FROM events e LEFT JOIN jobs j ON j.id = e.job_id";

/// Appends an event in the writer's transaction, so it exists exactly when the change does.
pub async fn append(
    tx: &mut Tx,
    kind: &str,
    project: Option<i64>,
    job: Option<i64>,
    payload: &serde_json::Value,
) -> sqlx::Result<i64> {
    if tx.backend() == super::Backend::Postgres {
        // Readers take events by `id > last`. PostgreSQL hands out ids when rows are written,
        // not when they commit, so without this a later id could commit first, be read, and
        // the earlier one be skipped for good. Held until commit, this lock makes ids commit in
        // order; SQLite's single writer gives the same for free. Keyed by schema, so separate
        // schemas (tests) do not wait for each other. The notification, sent at commit (once
        // per transaction), wakes every replica's listener to read what is new.
        sqlx::query(&format!(
            "SELECT pg_advisory_xact_lock(hashtext('millrace.events.' || current_schema())),
                    pg_notify({CHANNEL}, '')"
        ))
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query_scalar(
        "INSERT INTO events (at_ms, kind, project_id, job_id, payload) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(super::now_ms())
    .bind(kind)
    .bind(project)
    .bind(job)
    .bind(payload.to_string())
    .fetch_one(&mut **tx)
    .await
}

/// The PostgreSQL channel a commit that appended events notifies, as SQL: one per schema
/// (`millrace_events.public`), so installations (and test runs) sharing a database do not wake
/// each other.
const CHANNEL: &str = "'millrace_events.' || current_schema()";

/// A listener woken after each commit that appended events, on a connection of its own; `None`
/// on SQLite, whose one writing process needs no wake-up from elsewhere.
pub async fn listen(db: &super::Db) -> sqlx::Result<Option<sqlx::postgres::PgListener>> {
    if db.backend() != super::Backend::Postgres {
        return Ok(None);
    }
    let channel: String = sqlx::query_scalar(&format!("SELECT {CHANNEL}"))
        .fetch_one(db.pool())
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect(db.connect_url()).await?;
    listener.listen(&channel).await?;
    Ok(Some(listener))
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn after(conn: &mut AnyConnection, after: i64, limit: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as::<_, Event>(&format!(
        "{SELECT_EVENT} WHERE e.id > $1 ORDER BY e.id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Events of `project` after `after`, oldest first, at most `limit`: what a page that
/// reconnects missed.
pub async fn after_in_project(
    conn: &mut AnyConnection,
    project: i64,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as::<_, Event>(&format!(
        "{SELECT_EVENT} WHERE e.project_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"
    ))
    .bind(project)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The id of the newest event, 0 when there is none.
pub async fn last_id(conn: &mut AnyConnection) -> sqlx::Result<i64> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
        .fetch_one(conn)
        .await?;
    Ok(last.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{logs, testing::each_backend};

    #[tokio::test]
    async fn events_and_log_chunks_are_numbered_in_write_order() {
        each_backend(|db| async move {
            let mut tx = db.begin().await.unwrap();
            let a = append(
                &mut tx,
                "job.created",
                Some(1),
                None,
                &serde_json::json!({}),
            )
            .await
            .unwrap();
            let b = append(
                &mut tx,
                "metrics",
                Some(1),
                None,
                &serde_json::json!({"n": 2}),
            )
            .await
            .unwrap();
            assert!(b > a);
            let seen = after(&mut tx, a, 10).await.unwrap();
            assert_eq!(
                seen.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
                ["metrics"]
            );
            assert_eq!(seen[0].payload, r#"{"n":2}"#);
            tx.rollback().await.unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn a_reader_never_sees_a_later_event_before_an_earlier_one_commits() {
        each_backend(|db| async move {
            let mut first = db.begin().await.unwrap();
            let a = append(&mut first, "first", Some(1), None, &serde_json::json!({}))
                .await
                .unwrap();
            let writer = db.clone();
            let second = tokio::spawn(async move {
                let mut tx = writer.begin().await.unwrap();
                let b = append(&mut tx, "second", Some(1), None, &serde_json::json!({}))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                b
            });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let mut reader = db.pool().acquire().await.unwrap();
            let seen = after(&mut reader, 0, 10).await.unwrap();
            assert!(
                seen.is_empty(),
                "the second waits for the first to commit: {seen:?}"
            );
            first.commit().await.unwrap();
            let b = second.await.unwrap();
            assert!(b > a);
            let seen = after(&mut reader, 0, 10).await.unwrap();
            let kinds: Vec<_> = seen.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds, ["first", "second"]);
        })
        .await;
    }

    #[tokio::test]
    async fn a_commit_that_appended_events_wakes_postgresql_listeners_and_a_rollback_does_not() {
        each_backend(|db| async move {
            let Some(mut listener) = listen(&db).await.unwrap() else {
                assert_eq!(db.backend(), super::super::Backend::Sqlite);
                return;
            };
            let write = |commit: bool| {
                let db = db.clone();
                async move {
                    let mut tx = db.begin().await.unwrap();
                    append(&mut tx, "x", Some(1), None, &serde_json::json!({}))
                        .await
                        .unwrap();
                    append(&mut tx, "y", Some(1), None, &serde_json::json!({}))
                        .await
                        .unwrap();
                    match commit {
                        true => tx.commit().await.unwrap(),
                        false => tx.rollback().await.unwrap(),
                    }
                }
            };
            let quiet = std::time::Duration::from_millis(300);
            write(false).await;
            let woken = tokio::time::timeout(quiet, listener.recv()).await;
            assert!(woken.is_err(), "a rolled-back write wakes nobody");
            write(true).await;
            let woken = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv());
            let channel = woken.await.unwrap().unwrap().channel().to_owned();
            assert!(channel.starts_with("millrace_events."), "{channel}");
            let again = tokio::time::timeout(quiet, listener.recv()).await;
            assert!(again.is_err(), "one notification per transaction");
        })
        .await;
    }

    #[tokio::test]
    async fn log_chunks_of_a_job_follow_each_other() {
        use crate::db::testing::project_with_job;
        each_backend(|db| async move {
            let (_, job) = project_with_job(&db).await;
            let mut tx = db.begin().await.unwrap();
            assert_eq!(
                logs::append(&mut tx, job, "stdout", "epoch 1\n", 1)
                    .await
                    .unwrap(),
                1
            );
            assert_eq!(
                logs::append(&mut tx, job, "stderr", "warn\n", 2)
                    .await
                    .unwrap(),
                2
            );
            let tail = logs::after(&mut tx, job, 1, 10).await.unwrap();
            assert_eq!((tail.len(), tail[0].stream.as_str()), (1, "stderr"));
        })
        .await;
    }
}
