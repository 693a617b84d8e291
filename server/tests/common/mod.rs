//! What several test crates share: a PostgreSQL schema of their own.

use app::db::Db;

/// A schema made for one test on the PostgreSQL server the tests use (`MILLRACE_TEST_POSTGRES`,
/// else 127.0.0.1:5432 database `test`), emptied first if a crashed run left it behind.
pub struct FreshSchema {
    /// Its name.
    pub name: String,
    /// A database URL whose connections work in it.
    pub url: String,
    admin: Db,
}

impl FreshSchema {
    /// Makes schema `{prefix}_{process id}`.
    pub async fn new(prefix: &str) -> Self {
        let base = std::env::var("MILLRACE_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("{prefix}_{}", std::process::id());
        let admin = Db::open(&base).await.expect("PostgreSQL for tests");
        for statement in [
            format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
            format!("CREATE SCHEMA {name}"),
        ] {
            sqlx::query(&statement).execute(admin.pool()).await.unwrap();
        }
        let joiner = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{joiner}options=-c%20search_path%3D{name}");
        Self { name, url, admin }
    }

    /// Drops the schema and all in it.
    pub async fn remove(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(self.admin.pool())
            .await
            .unwrap();
        self.admin.close().await;
    }
}
