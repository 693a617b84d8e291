//! Queries on `storage_usage` and `snapshot_uploads`: the bytes each user keeps in the file
//! store (the snapshots they uploaded, the artifacts of the jobs they created), which
//! `serve --quota` bounds.

use super::{Db, Tx};

/// Bytes `user` keeps in the file store (0 for one who never uploaded anything).
pub async fn usage(db: &Db, user: i64) -> sqlx::Result<i64> {
    let bytes: Option<i64> =
        sqlx::query_scalar("SELECT bytes FROM storage_usage WHERE user_id = $1")
            .bind(user)
            .fetch_optional(db.pool())
            .await?;
    Ok(bytes.unwrap_or(0))
}

/// Locks `user`'s count until `tx` ends and returns it: uploads counted against one user are
/// checked and kept one at a time, so two of them cannot both fit in the room left for one.
pub async fn lock(tx: &mut Tx, user: i64) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO storage_usage (user_id, bytes) VALUES ($1, 0) ON CONFLICT DO NOTHING")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    // SQLite's transactions already hold the database's one write lock (BEGIN IMMEDIATE).
    let sql = if tx.backend_name() == "PostgreSQL" {
        "SELECT bytes FROM storage_usage WHERE user_id = $1 FOR UPDATE"
    } else {
        "SELECT bytes FROM storage_usage WHERE user_id = $1"
    };
    sqlx::query_scalar(sql)
        .bind(user)
        .fetch_one(&mut **tx)
        .await
}

/// Adds `delta` bytes (negative when a file was replaced by a smaller one) to `user`'s count,
/// which [`lock`] holds.
pub async fn add(tx: &mut Tx, user: i64, delta: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE storage_usage SET bytes = bytes + $2 WHERE user_id = $1")
        .bind(user)
        .bind(delta)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Records that `user` uploaded snapshot `sha256` of `bytes`; false when they had already, so
/// it counts against them once.
pub async fn record_snapshot(
    tx: &mut Tx,
    user: i64,
    sha256: &str,
    bytes: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO snapshot_uploads (user_id, sha256, bytes) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(sha256)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Whether `user` uploaded snapshot `sha256`.
pub async fn uploaded_by(db: &Db, user: i64, sha256: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM snapshot_uploads WHERE user_id = $1 AND sha256 = $2",
    )
    .bind(user)
    .bind(sha256)
    .fetch_one(db.pool())
    .await
    .map(|count| count > 0)
}

/// Whether a job or sweep of `project` already runs snapshot `sha256`, so its writers may run it
/// again (a rerun, a clone, a spec applied by another member).
pub async fn used_in_project(db: &Db, project: i64, sha256: &str) -> sqlx::Result<bool> {
    // Jobs keep their snapshot inside the spec's JSON; the hash is hex (checked by the caller),
    // so it is safe inside a LIKE pattern.
    sqlx::query_scalar::<_, i64>(
        "SELECT (SELECT COUNT(*) FROM sweeps WHERE project_id = $1 AND snapshot = $2)
              + (SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND spec LIKE $3)",
    )
    .bind(project)
    .bind(sha256)
    .bind(format!("%\"snapshot\":\"{sha256}\"%"))
    .fetch_one(db.pool())
    .await
    .map(|count| count > 0)
}

/// The user the artifacts kept under `uid` count against, as (id, name): for a job, its
/// creator, or the project's owner for a job whose creator is gone; for a logged model kept
/// without a run, its creator.
pub async fn artifact_owner(db: &Db, uid: &str) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(
        "SELECT u.id, u.name FROM jobs j JOIN projects p ON p.id = j.project_id
         JOIN users u ON u.id = COALESCE(j.created_by, p.owner_id)
         WHERE j.uid = $1
         UNION ALL
         SELECT u.id, u.name FROM logged_models m JOIN users u ON u.id = m.creator_id
         WHERE m.uid = $1 AND m.job_id IS NULL",
    )
    .bind(uid)
    .fetch_optional(db.pool())
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    #[tokio::test]
    async fn usage_counts_each_users_bytes_and_each_snapshot_once_per_user() {
        each_backend(|db| async move {
            let ann = crate::db::users::create(&db, "ann", "Ann")
                .await
                .unwrap()
                .id;
            let bob = crate::db::users::create(&db, "bob", "Bob")
                .await
                .unwrap()
                .id;
            assert_eq!(usage(&db, ann).await.unwrap(), 0);
            for (user, sha) in [(ann, "a"), (ann, "a"), (ann, "b"), (bob, "a")] {
                let mut tx = db.begin().await.unwrap();
                lock(&mut tx, user).await.unwrap();
                if record_snapshot(&mut tx, user, sha, 100).await.unwrap() {
                    add(&mut tx, user, 100).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            assert_eq!(usage(&db, ann).await.unwrap(), 200, "a twice counts once");
            assert_eq!(usage(&db, bob).await.unwrap(), 100, "and once for bob too");

            let mut tx = db.begin().await.unwrap();
            assert_eq!(lock(&mut tx, ann).await.unwrap(), 200);
            add(&mut tx, ann, -150).await.unwrap();
            tx.rollback().await.unwrap();
            assert_eq!(
                usage(&db, ann).await.unwrap(),
                200,
                "nothing counted without commit"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_users_count_is_locked_until_the_transaction_holding_it_ends() {
        each_backend(|db| async move {
            let ann = crate::db::users::create(&db, "ann", "Ann")
                .await
                .unwrap()
                .id;
            let mut first = db.begin().await.unwrap();
            lock(&mut first, ann).await.unwrap();
            add(&mut first, ann, 100).await.unwrap();
            let second = tokio::spawn({
                let db = db.clone();
                async move {
                    let mut tx = db.begin().await.unwrap();
                    let seen = lock(&mut tx, ann).await.unwrap();
                    tx.commit().await.unwrap();
                    seen
                }
            });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(
                !second.is_finished(),
                "the second upload waits for the first"
            );
            first.commit().await.unwrap();
            assert_eq!(second.await.unwrap(), 100, "and then sees its bytes");
        })
        .await;
    }

    #[tokio::test]
    async fn artifacts_count_against_the_jobs_creator_else_the_projects_owner() {
        each_backend(|db| async move {
            let (_, job) = crate::db::testing::project_with_job(&db).await;
            let ann = crate::db::users::create(&db, "ann", "Ann")
                .await
                .unwrap()
                .id;
            let uid: String = sqlx::query_scalar("SELECT uid FROM jobs WHERE id = $1")
                .bind(job)
                .fetch_one(db.pool())
                .await
                .unwrap();
            let owner = artifact_owner(&db, &uid).await.unwrap().unwrap();
            assert_eq!(owner.1, "owner", "no creator: the project's owner");
            sqlx::query("UPDATE jobs SET created_by = $1 WHERE id = $2")
                .bind(ann)
                .bind(job)
                .execute(db.pool())
                .await
                .unwrap();
            assert_eq!(
                artifact_owner(&db, &uid).await.unwrap(),
                Some((ann, "ann".into()))
            );
            assert_eq!(artifact_owner(&db, "nope").await.unwrap(), None);
        })
        .await;
    }
}
