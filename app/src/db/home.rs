//! Queries of the home view: a person's own jobs in progress and lately failed, and how many
//! jobs wait for a runner.

use super::projects::visible_to;
use super::sql::{Arg, Sql};
use super::Db;
use crate::model::JobStatus;

/// Rows a list of the home view holds at most.
pub const LIMIT: i64 = 50;

/// One of a person's jobs, with the project it is in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnJob {
    /// The project's owner.
    pub owner: String,
    /// The project's name.
    pub project: String,
    /// The job's number in its project.
    pub number: i64,
    /// The job's name.
    pub name: String,
    /// Its status code.
    pub status: i64,
    /// When it was created, started and finished, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it started, if it has.
    pub started_ms: Option<i64>,
    /// When it finished, if it has.
    pub finished_ms: Option<i64>,
}

/// The jobs `user` created that have one of `statuses` (and, with `since_ms`, finished since
/// then), in projects they may still see and nobody archived, in `order`, at most [`LIMIT`].
async fn own(
    db: &Db,
    user: i64,
    statuses: &[JobStatus],
    since_ms: Option<i64>,
    order: &str,
) -> sqlx::Result<Vec<OwnJob>> {
    let mut sql = Sql::new(
        "SELECT u.name AS owner, p.name AS project, j.number, j.name, j.status, j.created_ms,
                j.started_ms, j.finished_ms
         FROM jobs j JOIN projects p ON p.id = j.project_id JOIN users u ON u.id = p.owner_id
         WHERE j.created_by = ",
    );
    let me = sql.arg(Arg::Int(user));
    sql.push(&me);
    let codes: Vec<String> = statuses.iter().map(|s| s.code().to_string()).collect();
    sql.push(&format!(
        " AND j.status IN ({}) AND j.archived = 0 AND p.archived = 0",
        codes.join(", ")
    ));
    if let Some(since) = since_ms {
        let since = sql.arg(Arg::Int(since));
        sql.push(&format!(" AND j.finished_ms >= {since}"));
    }
    sql.push(" AND ");
    visible_to(&mut sql, user);
    let limit = sql.arg(Arg::Int(LIMIT));
    sql.push(&format!(" ORDER BY {order}, j.id DESC LIMIT {limit}"));
    sql.query_as::<OwnJob>().fetch_all(db.pool()).await
}

/// `user`'s jobs that run or wait to: running first, then starting, then queued.
pub async fn in_progress(db: &Db, user: i64) -> sqlx::Result<Vec<OwnJob>> {
    use JobStatus::*;
    let order = "j.status DESC, COALESCE(j.started_ms, j.created_ms) DESC";
    own(db, user, &[Queued, Starting, Running], None, order).await
}

/// `user`'s jobs that failed or were lost since `since_ms`, the latest first.
pub async fn failed_since(db: &Db, user: i64, since_ms: i64) -> sqlx::Result<Vec<OwnJob>> {
    let ended = [JobStatus::Failed, JobStatus::Lost];
    own(db, user, &ended, Some(since_ms), "j.finished_ms DESC").await
}

/// Jobs anyone queued for a runner that no runner has taken yet.
pub async fn waiting_for_a_runner(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = $1 AND spec IS NOT NULL")
        .bind(JobStatus::Queued.code())
        .fetch_one(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{insert_many, NewJob};
    use crate::db::testing::each_backend;
    use crate::db::{projects, users};

    const NOW: i64 = 10 * 86_400_000;
    const DAY: i64 = 86_400_000;

    fn job(name: &str, by: i64, status: JobStatus, finished_ms: Option<i64>) -> NewJob {
        NewJob {
            name: name.into(),
            status: Some(status),
            created_by: Some(by),
            created_ms: Some(NOW - 2 * DAY),
            started_ms: (status != JobStatus::Queued).then_some(NOW - DAY),
            finished_ms,
            ..NewJob::default()
        }
    }

    async fn add(db: &Db, project: i64, jobs: &[NewJob]) {
        let mut tx = db.begin().await.unwrap();
        insert_many(&mut tx, project, jobs).await.unwrap();
        tx.commit().await.unwrap();
    }

    fn names(jobs: &[OwnJob]) -> Vec<String> {
        jobs.iter()
            .map(|j| format!("{}/{}#{} {}", j.owner, j.project, j.number, j.name))
            .collect()
    }

    #[tokio::test]
    async fn the_home_lists_a_persons_own_jobs_where_they_may_still_see_them() {
        each_backend(|db| async move {
            use JobStatus::*;
            let ann = users::create(&db, "ann", "Ann").await.unwrap().id;
            let ben = users::create(&db, "ben", "Ben").await.unwrap().id;
            let lab = projects::create(&db, ann, "lab", "", false).await.unwrap();
            let secret = projects::create(&db, ben, "secret", "", true)
                .await
                .unwrap();
            let shared = projects::create(&db, ben, "shared", "", true)
                .await
                .unwrap();
            projects::add_member(&db, secret, ann).await.unwrap();
            projects::add_member(&db, shared, ann).await.unwrap();
            add(
                &db,
                lab,
                &[
                    job("queued", ann, Queued, None),
                    job("running", ann, Running, None),
                    job("failed-today", ann, Failed, Some(NOW - 3_600_000)),
                    job("failed-last-week", ann, Failed, Some(NOW - 7 * DAY)),
                    job("succeeded", ann, Succeeded, Some(NOW - 1000)),
                    job("bens-run", ben, Running, None),
                    job("lost-just-now", ann, Lost, Some(NOW - 1000)),
                ],
            )
            .await;
            add(&db, shared, &[job("in-shared", ann, Starting, None)]).await;
            add(&db, secret, &[job("in-secret", ann, Running, None)]).await;
            // Ann was a member of ben's secret project; she is not any more.
            projects::remove_member(&db, secret, ann).await.unwrap();

            assert_eq!(
                names(&in_progress(&db, ann).await.unwrap()),
                [
                    "ann/lab#2 running",
                    "ben/shared#1 in-shared",
                    "ann/lab#1 queued"
                ]
            );
            assert_eq!(
                names(&failed_since(&db, ann, NOW - DAY).await.unwrap()),
                ["ann/lab#7 lost-just-now", "ann/lab#3 failed-today"]
            );
            projects::set_archived(&db, shared, true).await.unwrap();
            assert_eq!(
                names(&in_progress(&db, ann).await.unwrap()),
                ["ann/lab#2 running", "ann/lab#1 queued"],
                "an archived project's jobs leave the home view"
            );
            assert_eq!(
                waiting_for_a_runner(&db).await.unwrap(),
                0,
                "no job asks a runner"
            );
            sqlx::query("UPDATE jobs SET spec = '{}' WHERE name = 'queued'")
                .execute(db.pool())
                .await
                .unwrap();
            assert_eq!(waiting_for_a_runner(&db).await.unwrap(), 1);
        })
        .await;
    }
}
