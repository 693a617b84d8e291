//! Queries on `sessions`: browser logins, stored by the hash of the cookie's secret.

use super::users::{User, USER_COLUMNS};
use super::{now_ms, Db};

/// Where a session was opened from: the browser's `User-Agent` and the client's address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The browser, as it names itself (cut to a reasonable length).
    pub user_agent: &'a str,
    /// The client's address.
    pub address: &'a str,
}

/// Stores a session for `user` that ends at `expires_ms`.
pub async fn insert(
    db: &Db,
    token_hash: &str,
    user: i64,
    expires_ms: i64,
    from: &Origin<'_>,
) -> sqlx::Result<()> {
    let user_agent: String = from.user_agent.chars().take(300).collect();
    sqlx::query(
        "INSERT INTO sessions
            (token_hash, user_id, created_ms, expires_ms, last_seen_ms, user_agent, address)
         VALUES ($1, $2, $3, $4, $3, $5, $6)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(now_ms())
    .bind(expires_ms)
    .bind(user_agent)
    .bind(from.address)
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// One of a user's open sessions, as the sessions list shows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenSession {
    /// The hash of its secret: what names it for [`end_for_user`] (the secret stays with the
    /// browser).
    pub token_hash: String,
    /// When it was opened.
    pub created_ms: i64,
    /// When it was last used (to the minute).
    pub last_seen_ms: i64,
    /// The browser it was opened from.
    pub user_agent: String,
    /// The address it was opened from.
    pub address: String,
}

/// `user`'s live sessions, most recently used first.
pub async fn list(db: &Db, user: i64, idle_ms: i64) -> sqlx::Result<Vec<OpenSession>> {
    let now = now_ms();
    sqlx::query_as::<_, OpenSession>(
        "SELECT token_hash, created_ms, last_seen_ms, user_agent, address FROM sessions
         WHERE user_id = $1 AND expires_ms > $2 AND last_seen_ms > $3
         ORDER BY last_seen_ms DESC, created_ms DESC",
    )
    .bind(user)
    .bind(now)
    .bind(now.saturating_sub(idle_ms))
    .fetch_all(db.pool())
    .await
}

/// Ends `user`'s session with this hash (signing out another browser); false if `user` has no
/// such session.
pub async fn end_for_user(db: &Db, user: i64, token_hash: &str) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2")
        .bind(user)
        .bind(token_hash)
        .execute(db.pool())
        .await
        .map(|done| done.rows_affected() == 1)
}

/// The user of the session with this hash, if it has not expired and was used within the last
/// `idle_ms`, and when it was last used.
pub async fn user_for_hash(
    db: &Db,
    token_hash: &str,
    idle_ms: i64,
) -> sqlx::Result<Option<(User, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        last_seen_ms: i64,
    }
    let now = now_ms();
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {USER_COLUMNS}, s.last_seen_ms FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_ms > $2 AND s.last_seen_ms > $3"
    ))
    .bind(token_hash)
    .bind(now)
    .bind(now.saturating_sub(idle_ms))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| (r.user, r.last_seen_ms)))
}

/// Notes that the session with this hash was used now.
pub async fn touch(db: &Db, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE token_hash = $2")
        .bind(now_ms())
        .bind(token_hash)
        .execute(db.pool())
        .await
        .map(|_| ())
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

    const DAY: i64 = 24 * 3600 * 1000;

    #[tokio::test]
    async fn sessions_end_at_logout_and_at_expiry() {
        each_backend(|db| async move {
            let bob = users::create(&db, "bob", "Bob").await.unwrap();
            insert(&db, "live", bob.id, now_ms() + 60_000, &Origin::default())
                .await
                .unwrap();
            insert(&db, "old", bob.id, now_ms() - 1, &Origin::default())
                .await
                .unwrap();
            assert_eq!(
                user_for_hash(&db, "live", DAY)
                    .await
                    .unwrap()
                    .map(|(u, _)| u.name),
                Some("bob".into())
            );
            assert_eq!(user_for_hash(&db, "old", DAY).await.unwrap(), None);
            assert_eq!(purge_expired(&db).await.unwrap(), 1);
            assert_eq!(purge_expired(&db).await.unwrap(), 0);
            assert!(user_for_hash(&db, "live", DAY).await.unwrap().is_some());
            delete(&db, "live").await.unwrap();
            assert_eq!(user_for_hash(&db, "live", DAY).await.unwrap(), None);
        })
        .await;
    }

    #[tokio::test]
    async fn an_idle_session_ends_and_use_keeps_it_alive() {
        each_backend(|db| async move {
            let bob = users::create(&db, "bob", "Bob").await.unwrap();
            insert(&db, "s", bob.id, now_ms() + 10 * DAY, &Origin::default())
                .await
                .unwrap();
            sqlx::query("UPDATE sessions SET last_seen_ms = $1")
                .bind(now_ms() - 2 * DAY)
                .execute(db.pool())
                .await
                .unwrap();
            assert_eq!(
                user_for_hash(&db, "s", DAY).await.unwrap(),
                None,
                "idle for two days"
            );
            let (_, seen) = user_for_hash(&db, "s", 3 * DAY).await.unwrap().unwrap();
            touch(&db, "s").await.unwrap();
            let (_, touched) = user_for_hash(&db, "s", DAY).await.unwrap().unwrap();
            assert!(touched > seen + DAY);
        })
        .await;
    }

    #[tokio::test]
    async fn people_list_and_end_only_their_own_sessions() {
        each_backend(|db| async move {
            let bob = users::create(&db, "bob", "Bob").await.unwrap();
            let cat = users::create(&db, "cat", "Cat").await.unwrap();
            let laptop = Origin {
                user_agent: "Firefox",
                address: "10.0.0.1",
            };
            insert(&db, "b1", bob.id, now_ms() + DAY, &laptop)
                .await
                .unwrap();
            insert(&db, "b2", bob.id, now_ms() + DAY, &Origin::default())
                .await
                .unwrap();
            insert(&db, "c1", cat.id, now_ms() + DAY, &Origin::default())
                .await
                .unwrap();
            let listed = list(&db, bob.id, DAY).await.unwrap();
            let mut hashes: Vec<_> = listed.iter().map(|s| s.token_hash.as_str()).collect();
            hashes.sort_unstable();
            assert_eq!(hashes, ["b1", "b2"]);
            let b1 = listed.iter().find(|s| s.token_hash == "b1").unwrap();
            assert_eq!(
                (b1.user_agent.as_str(), b1.address.as_str()),
                ("Firefox", "10.0.0.1")
            );
            assert!(
                !end_for_user(&db, bob.id, "c1").await.unwrap(),
                "cat's session is not bob's"
            );
            assert!(user_for_hash(&db, "c1", DAY).await.unwrap().is_some());
            assert!(end_for_user(&db, bob.id, "b1").await.unwrap());
            assert_eq!(user_for_hash(&db, "b1", DAY).await.unwrap(), None);
        })
        .await;
    }
}
