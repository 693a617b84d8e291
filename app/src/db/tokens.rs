//! Queries on `api_tokens`: only hashes are stored; the secret is shown once at creation.

use super::users::User;
use super::{now_ms, Db};

/// A token as listed to its owner (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenInfo {
    /// Database id, used to revoke it.
    pub id: i64,
    /// What the owner called it.
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// Stores a new token's hash for `user`; returns its id.
pub async fn insert(db: &Db, user: i64, name: &str, token_hash: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_ms) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(token_hash)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await
}

/// The owner of the live (not revoked) token with this hash.
pub async fn user_for_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as::<_, User>(
        "SELECT u.id, u.name, u.display_name, u.created_ms
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_ms IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await
}

/// Revokes `user`'s token `id`; false if they have no such live token.
pub async fn revoke(db: &Db, user: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_ms = $1 WHERE id = $2 AND user_id = $3 AND revoked_ms IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(user)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// All of `user`'s tokens, newest first.
pub async fn list(db: &Db, user: i64) -> sqlx::Result<Vec<TokenInfo>> {
    sqlx::query_as::<_, TokenInfo>(
        "SELECT id, name, created_ms, revoked_ms FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
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
            let id = insert(&db, alice.id, "laptop", "hash-1").await.unwrap();
            assert_eq!(
                user_for_hash(&db, "hash-1").await.unwrap(),
                Some(alice.clone())
            );
            assert_eq!(user_for_hash(&db, "hash-2").await.unwrap(), None);
            assert!(revoke(&db, alice.id, id).await.unwrap());
            assert!(
                !revoke(&db, alice.id, id).await.unwrap(),
                "revoking twice reports nothing done"
            );
            assert_eq!(user_for_hash(&db, "hash-1").await.unwrap(), None);
            assert!(list(&db, alice.id).await.unwrap()[0].revoked_ms.is_some());
        })
        .await;
    }
}
