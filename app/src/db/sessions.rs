//! Queries on `sessions`: browser logins, stored by the hash of the cookie's secret.

use super::users::{User, USER_COLUMNS};
use super::{now_ms, Db};

/// Stores a session for `user` that ends at `expires_ms`.
pub async fn insert(db: &Db, token_hash: &str, user: i64, expires_ms: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user)
        .bind(now_ms())
        .bind(expires_ms)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// The user of the unexpired session with this hash.
pub async fn user_for_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as::<_, User>(&format!(
        "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_ms > $2"
    ))
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await
}

/// Deletes every expired session; returns how many. Run at each login, so sessions that are
/// never logged out do not pile up.
pub async fn purge_expired(db: &Db) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
        .bind(now_ms())
        .execute(db.pool())
        .await
        .map(|done| done.rows_affected())
}

/// Ends the session with this hash (logout).
pub async fn delete(db: &Db, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db.pool())
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{testing::each_backend, users};

    #[tokio::test]
    async fn sessions_end_at_logout_and_at_expiry() {
        each_backend(|db| async move {
            let bob = users::create(&db, "bob", "Bob").await.unwrap();
            insert(&db, "live", bob.id, now_ms() + 60_000)
                .await
                .unwrap();
            insert(&db, "old", bob.id, now_ms() - 1).await.unwrap();
            assert_eq!(
                user_for_hash(&db, "live").await.unwrap().map(|u| u.name),
                Some("bob".into())
            );
            assert_eq!(user_for_hash(&db, "old").await.unwrap(), None);
            assert_eq!(purge_expired(&db).await.unwrap(), 1);
            assert_eq!(purge_expired(&db).await.unwrap(), 0);
            assert!(user_for_hash(&db, "live").await.unwrap().is_some());
            delete(&db, "live").await.unwrap();
            assert_eq!(user_for_hash(&db, "live").await.unwrap(), None);
        })
        .await;
    }
}
