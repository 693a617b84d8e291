//! Queries on `failed_sign_ins`: the failures that throttle password guessing.

use super::Db;

/// How many failures there were since `since_ms` for an account name or a client address, and
/// when the oldest of them happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Failures {
    /// Failures in the window.
    pub count: i64,
    /// Time of the oldest failure in the window (0 when there is none).
    pub oldest_ms: i64,
}

/// Who a count is about: the name typed, or the address the attempt came from.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// An account name, as typed (unknown names count too, so guessing them costs the same).
    Account(&'a str),
    /// A client address.
    Address(&'a str),
}

/// Records one failed sign-in at `at_ms`, and drops failures older than `forget_before_ms`.
pub async fn record(
    db: &Db,
    account: &str,
    address: &str,
    at_ms: i64,
    forget_before_ms: i64,
) -> sqlx::Result<()> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM failed_sign_ins WHERE at_ms < $1")
        .bind(forget_before_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO failed_sign_ins (account, address, at_ms) VALUES ($1, $2, $3)")
        .bind(account)
        .bind(address)
        .bind(at_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The failures for `key` since `since_ms`.
pub async fn since(db: &Db, key: Key<'_>, since_ms: i64) -> sqlx::Result<Failures> {
    let (column, value) = match key {
        Key::Account(name) => ("account", name),
        Key::Address(address) => ("address", address),
    };
    sqlx::query_as::<_, Failures>(&format!(
        "SELECT COUNT(*) AS count, COALESCE(MIN(at_ms), 0) AS oldest_ms
         FROM failed_sign_ins WHERE {column} = $1 AND at_ms >= $2"
    ))
    .bind(value)
    .bind(since_ms)
    .fetch_one(db.pool())
    .await
}

/// Forgets the failures of `account` once its owner signs in.
pub async fn forget_account(db: &Db, account: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM failed_sign_ins WHERE account = $1")
        .bind(account)
        .execute(db.pool())
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    #[tokio::test]
    async fn failures_are_counted_per_account_and_per_address_within_the_window() {
        each_backend(|db| async move {
            record(&db, "ann", "10.0.0.1", 1_000, 0).await.unwrap();
            record(&db, "ann", "10.0.0.2", 2_000, 0).await.unwrap();
            record(&db, "bob", "10.0.0.1", 3_000, 0).await.unwrap();
            let ann = since(&db, Key::Account("ann"), 0).await.unwrap();
            assert_eq!(
                ann,
                Failures {
                    count: 2,
                    oldest_ms: 1_000
                }
            );
            let address = since(&db, Key::Address("10.0.0.1"), 2_000).await.unwrap();
            assert_eq!(
                address,
                Failures {
                    count: 1,
                    oldest_ms: 3_000
                }
            );
            let none = since(&db, Key::Account("carl"), 0).await.unwrap();
            assert_eq!(
                none,
                Failures {
                    count: 0,
                    oldest_ms: 0
                }
            );

            // Old failures are dropped as new ones come in.
            record(&db, "bob", "10.0.0.3", 10_000, 2_500).await.unwrap();
            assert_eq!(since(&db, Key::Account("ann"), 0).await.unwrap().count, 0);
            forget_account(&db, "bob").await.unwrap();
            assert_eq!(
                since(&db, Key::Address("10.0.0.3"), 0).await.unwrap().count,
                0
            );
        })
        .await;
    }
}
