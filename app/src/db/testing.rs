//! Fresh migrated databases for store tests: a temporary SQLite file and a PostgreSQL schema.

use super::{Backend, Db};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL server store tests use; `MILLRACE_TEST_POSTGRES` overrides it.
pub fn postgres_url() -> String {
    std::env::var("MILLRACE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Runs `body` once on a fresh SQLite file and once on a fresh PostgreSQL schema.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let fresh = FreshDb::new(backend).await;
        body(fresh.db.clone()).await;
        fresh.remove().await;
    }
}

/// A migrated database that exists only for one test.
pub struct FreshDb {
    /// The store on it.
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl FreshDb {
    /// Creates and migrates a database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let db = Db::open(&url)
                    .await
                    .expect("opening a temporary SQLite file");
                db.migrate().await.expect("migrating SQLite");
                Self {
                    db,
                    _dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let schema = format!(
                    "millrace_test_{}_{}_{}",
                    std::process::id(),
                    super::now_ms(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let admin = Db::open(&postgres_url())
                    .await
                    .expect("PostgreSQL for store tests");
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(admin.pool())
                    .await
                    .expect("creating a test schema");
                admin.close().await;
                let base = postgres_url();
                let joiner = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{joiner}options=-c%20search_path%3D{schema}");
                let db = Db::open(&url).await.expect("opening the test schema");
                db.migrate().await.expect("migrating PostgreSQL");
                Self {
                    db,
                    _dir: None,
                    schema: Some(schema),
                }
            }
        }
    }

    /// Drops the PostgreSQL schema (the SQLite directory goes with `self`).
    pub async fn remove(self) {
        if let Some(schema) = &self.schema {
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(self.db.pool())
                .await
                .expect("dropping the test schema");
        }
        self.db.close().await;
    }
}

/// A user, a project and one queued job in it: the ids of the project and the job.
pub async fn project_with_job(db: &Db) -> (i64, i64) {
    let user = super::users::create(db, "owner", "Owner")
        .await
        .expect("a user");
    let project = super::projects::create(db, user.id, "project", "", false)
        .await
        .expect("a project");
    let mut tx = db.begin().await.expect("a transaction");
    let job = super::jobs::insert_many(&mut tx, project, &[super::jobs::NewJob::default()])
        .await
        .expect("a job");
    tx.commit().await.expect("commit");
    (project, job[0].id)
}

/// A user and their project named `name`: the project's id.
pub async fn project(db: &Db, name: &str) -> i64 {
    let user = super::users::create(db, "owner", "Owner")
        .await
        .expect("a user");
    super::projects::create(db, user.id, name, "", false)
        .await
        .expect("a project")
}
