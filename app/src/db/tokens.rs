//! Queries on `api_tokens`: only hashes are stored; the secret is shown once at creation.
//!
//! A user's own tokens carry a scope (`read` or `write`) and may expire; a job's token (scope
//! `job`, `job_id` set) is made when a runner leases the job and revoked when the job ends or is
//! leased again.

use super::users::{User, USER_COLUMNS};
use super::{now_ms, Db};
use crate::model::TokenScope;
use sqlx::AnyConnection;

/// A token as listed to its owner (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenInfo {
    /// Database id, used to revoke it.
    pub id: i64,
    /// What the owner called it.
    pub name: String,
    /// `read` or `write`.
    pub scope: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it stops working, if ever.
    pub expires_ms: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// What a live token lets its bearer do, beside acting as its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A user's token with this scope.
    User(TokenScope),
    /// A job's token: its job, and that job's project.
    Job {
        /// The job's database id.
        job: i64,
        /// Its project's database id.
        project: i64,
    },
}

/// A live token found by its hash: whose it is, its id and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveToken {
    /// The user it acts as.
    pub user: User,
    /// Its database id.
    pub id: i64,
    /// Its scope.
    pub kind: TokenKind,
}

/// Stores a new token's hash for `user`, with `scope` and an optional end; returns its id.
pub async fn insert(
    db: &Db,
    user: i64,
    name: &str,
    token_hash: &str,
    scope: TokenScope,
    expires_ms: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_ms, scope, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(token_hash)
    .bind(now_ms())
    .bind(scope.as_str())
    .bind(expires_ms)
    .fetch_one(db.pool())
    .await
}

/// Stores the token of `job` (created by `user`), inside the lease's transaction; its id.
pub async fn insert_for_job(
    conn: &mut AnyConnection,
    user: i64,
    job: i64,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_ms, scope, job_id)
         VALUES ($1, 'job', $2, $3, 'job', $4) RETURNING id",
    )
    .bind(user)
    .bind(token_hash)
    .bind(now)
    .bind(job)
    .fetch_one(conn)
    .await
}

/// Revokes every live token of `job`: it ended, or a runner leases it again.
pub async fn revoke_for_job(conn: &mut AnyConnection, job: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_ms = $1 WHERE job_id = $2 AND revoked_ms IS NULL")
        .bind(now)
        .bind(job)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The live (not revoked, not expired) token with this hash, with its user and scope.
pub async fn live(db: &Db, token_hash: &str) -> sqlx::Result<Option<LiveToken>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        token_id: i64,
        scope: String,
        job_id: Option<i64>,
        job_project: Option<i64>,
    }
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {USER_COLUMNS}, t.id AS token_id, t.scope, t.job_id, j.project_id AS job_project
         FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN jobs j ON j.id = t.job_id
         WHERE t.token_hash = $1 AND t.revoked_ms IS NULL
           AND (t.expires_ms IS NULL OR t.expires_ms > $2)"
    ))
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|row| {
        let kind = match (row.scope.as_str(), row.job_id, row.job_project) {
            ("job", Some(job), Some(project)) => TokenKind::Job { job, project },
            // A job token whose job is gone acts for nothing.
            ("job", _, _) => return None,
            (scope, _, _) => TokenKind::User(scope.parse().unwrap_or(TokenScope::Read)),
        };
        Some(LiveToken {
            user: row.user,
            id: row.token_id,
            kind,
        })
    }))
}

/// Revokes `user`'s token `id`; false if they have no such live token.
pub async fn revoke(db: &Db, user: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_ms = $1
         WHERE id = $2 AND user_id = $3 AND revoked_ms IS NULL AND job_id IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(user)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// All of `user`'s own tokens (not their jobs'), newest first.
pub async fn list(db: &Db, user: i64) -> sqlx::Result<Vec<TokenInfo>> {
    sqlx::query_as::<_, TokenInfo>(
        "SELECT id, name, scope, created_ms, expires_ms, revoked_ms FROM api_tokens
         WHERE user_id = $1 AND job_id IS NULL ORDER BY id DESC",
    )
    .bind(user)
    .fetch_all(db.pool())
    .await
}

/// The stored hash of token `id`, for tests that check nothing is kept in clear.
pub async fn stored_hash(db: &Db, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{testing::each_backend, users};

    #[tokio::test]
    async fn a_revoked_token_no_longer_finds_its_user() {
        each_backend(|db| async move {
            let alice = users::create(&db, "alice", "Alice").await.unwrap();
            let id = insert(&db, alice.id, "laptop", "hash-1", TokenScope::Write, None)
                .await
                .unwrap();
            let found = live(&db, "hash-1").await.unwrap().unwrap();
            assert_eq!((found.user, found.id), (alice.clone(), id));
            assert_eq!(found.kind, TokenKind::User(TokenScope::Write));
            assert_eq!(live(&db, "hash-2").await.unwrap(), None);
            assert!(revoke(&db, alice.id, id).await.unwrap());
            assert!(
                !revoke(&db, alice.id, id).await.unwrap(),
                "revoking twice reports nothing done"
            );
            assert_eq!(live(&db, "hash-1").await.unwrap(), None);
            assert!(list(&db, alice.id).await.unwrap()[0].revoked_ms.is_some());
        })
        .await;
    }

    #[tokio::test]
    async fn tokens_keep_their_scope_and_stop_at_their_expiry() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            insert(&db, ann.id, "dash", "read-1", TokenScope::Read, None)
                .await
                .unwrap();
            insert(
                &db,
                ann.id,
                "old",
                "gone-1",
                TokenScope::Write,
                Some(now_ms() - 1),
            )
            .await
            .unwrap();
            insert(
                &db,
                ann.id,
                "soon",
                "soon-1",
                TokenScope::Write,
                Some(now_ms() + 60_000),
            )
            .await
            .unwrap();
            let read = live(&db, "read-1").await.unwrap().unwrap();
            assert_eq!(read.kind, TokenKind::User(TokenScope::Read));
            assert_eq!(live(&db, "gone-1").await.unwrap(), None, "expired");
            assert!(live(&db, "soon-1").await.unwrap().is_some());
            let names: Vec<String> = list(&db, ann.id)
                .await
                .unwrap()
                .into_iter()
                .map(|t| format!("{}:{}", t.name, t.scope))
                .collect();
            assert_eq!(names, ["soon:write", "old:write", "dash:read"]);
        })
        .await;
    }

    #[tokio::test]
    async fn a_job_token_names_its_job_and_dies_with_the_job_s_lease() {
        each_backend(|db| async move {
            let (project, job) = crate::db::testing::project_with_job(&db).await;
            let owner: i64 = sqlx::query_scalar("SELECT owner_id FROM projects WHERE id = $1")
                .bind(project)
                .fetch_one(db.pool())
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let id = insert_for_job(&mut tx, owner, job, "job-1", now_ms())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let token = live(&db, "job-1").await.unwrap().unwrap();
            assert_eq!(
                (token.id, token.kind),
                (id, TokenKind::Job { job, project })
            );
            assert!(
                list(&db, owner).await.unwrap().is_empty(),
                "job tokens are not listed as the user's own"
            );
            assert!(
                !revoke(&db, owner, id).await.unwrap(),
                "a user does not revoke a job's token by hand"
            );
            let mut tx = db.begin().await.unwrap();
            revoke_for_job(&mut tx, job, now_ms()).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(live(&db, "job-1").await.unwrap(), None);
        })
        .await;
    }
}
