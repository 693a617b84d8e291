//! The store: every SQL query of millrace, run on SQLite or PostgreSQL through one [`Db`].
//!
//! Queries are runtime SQL with `$N` placeholders on sqlx's `Any` driver, so one text serves
//! both backends; where the dialects differ, both versions stand side by side in the function.

/// Gives a state enum its text form: the name stored in the database and shown by the API.
macro_rules! text_enum {
    ($type:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $type {
            /// The name stored in the database and shown by the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            /// The state stored as `text`; an unknown text (a newer server's) reads as `None`.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod cursor;
pub mod events;
pub mod home;
pub mod job_table;
pub mod jobs;
pub mod logged_models;
pub mod logs;
pub mod metrics;
pub mod pipelines;
pub mod pools;
pub mod project_keys;
pub mod project_tags;
pub mod projects;
pub mod queue;
pub mod registry;
pub mod rollups;
pub mod run_inputs;
pub mod run_search;
pub mod runners;
pub mod sessions;
pub mod sign_ins;
pub mod sql;
pub mod storage;
pub mod sweeps;
pub mod tokens;
pub mod users;

#[cfg(test)]
pub(crate) mod testing;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::{str::FromStr, time::Duration};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A write transaction on either backend; write functions that touch several tables take one.
/// It derefs to the connection, so queries run on `&mut **tx`.
pub struct Tx {
    // Declared first so the transaction ends before the writer turn is handed on.
    inner: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
    backend: Backend,
}

impl Tx {
    /// Makes the transaction's writes permanent.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.inner.commit().await
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(self) -> sqlx::Result<()> {
        self.inner.rollback().await
    }

    /// Which engine the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// Why a page of a column could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The client's cursor is not one of ours, or belongs to another sort.
    #[error(transparent)]
    Cursor(#[from] cursor::BadCursor),
    /// The query failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file, WAL journal: the embedded default.
    Sqlite,
    /// A PostgreSQL server, for several replicas and bigger teams.
    Postgres,
}

/// Why the store could not be opened; each message is one line for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is not one we can use.
    #[error("invalid database URL '{url}': {reason}")]
    BadUrl {
        /// The URL as given, password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server did not answer or refused us.
    #[error("cannot reach the database at {url}: {reason}")]
    Unreachable {
        /// The URL as given, password removed.
        url: String,
        /// The driver's explanation.
        reason: String,
    },
    /// Another process holds the SQLite file's write lock.
    #[error("the SQLite database {url} is locked by another process; stop it or use another file")]
    Locked {
        /// The URL as given.
        url: String,
    },
    /// Migrations or another query failed.
    #[error("database error at {url}: {reason}")]
    Other {
        /// The URL as given, password removed.
        url: String,
        /// The driver's explanation.
        reason: String,
    },
}

/// A connection pool on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: String,
    connect_url: ConnectUrl,
    /// SQLite allows one writer; writers of this process take turns here, asleep on a tokio
    /// mutex, instead of colliding on the file lock, where SQLite's busy handler sleeps between
    /// retries (4 concurrent log-batch clients: ~490k points/s without the turn, ~600k with).
    writer_turn: Arc<Mutex<()>>,
}

/// The URL as given, password and all, for a connection outside the pool (a PostgreSQL
/// listener); its `Debug` hides it, as [`Db`]'s shows only the redacted one.
#[derive(Clone)]
struct ConnectUrl(String);

impl std::fmt::Debug for ConnectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectUrl(•••)")
    }
}

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    /// Opens a pool on `url` (`sqlite://file.db` or `postgres://...`); a new SQLite file is created.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, SQLITE_BUSY_TIMEOUT).await
    }

    /// Like [`Db::open`], waiting at most `busy_timeout` for another process's SQLite lock.
    pub async fn open_with(url: &str, busy_timeout: Duration) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let bad_url = |reason: String| OpenError::BadUrl {
            url: shown.clone(),
            reason,
        };
        let (backend, url) = normalise_url(url).map_err(bad_url)?;
        let options = AnyConnectOptions::from_str(&url).map_err(|e| bad_url(e.to_string()))?;
        // One direct connection first: the pool would retry a refused or locked database until
        // its timeout and then report only that it timed out.
        let mut probe = AnyConnection::connect_with(&options)
            .await
            .map_err(|e| classify(&shown, e))?;
        if backend == Backend::Sqlite {
            probe
                .execute(sqlite_pragmas(busy_timeout).as_str())
                .await
                .map_err(|e| classify(&shown, e))?;
        }
        probe.close().await.map_err(|e| classify(&shown, e))?;
        let pool = pool_options(backend, busy_timeout)
            .connect_with(options)
            .await
            .map_err(|e| classify(&shown, e))?;
        Ok(Self {
            pool,
            backend,
            url: shown,
            connect_url: ConnectUrl(url),
            writer_turn: Arc::default(),
        })
    }

    /// Brings the schema up to date; run at every start.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => classify(&self.url, e),
            other => OpenError::Other {
                url: self.url.clone(),
                reason: other.to_string(),
            },
        })
    }

    /// The pool, for single-statement reads and writes.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL to open a connection of one's own with.
    fn connect_url(&self) -> &str {
        &self.connect_url.0
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so a transaction that reads before it writes cannot fail half-way on a busy database.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self.backend {
            Backend::Sqlite => {
                let turn = self.writer_turn.clone().lock_owned().await;
                Ok(Tx {
                    inner: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                    backend: self.backend,
                })
            }
            Backend::Postgres => Ok(Tx {
                inner: self.pool.begin().await?,
                _turn: None,
                backend: self.backend,
            }),
        }
    }

    /// Answers once the database accepts queries (for `/healthz`).
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Refreshes the query planner's statistics after a bulk fill such as the demo: until
    /// autovacuum got to them, PostgreSQL planned the jobs column of a 1M-job project from
    /// empty-table estimates, and its first pages took 60-600 ms instead of 2-5.
    pub async fn analyze(&self) -> sqlx::Result<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await.map(|_| ())
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch: the time unit of every column.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_millis()).expect("milliseconds fit in i64 until year 292 million")
}

/// Checks the scheme and, for SQLite, asks for the file to be created when missing.
fn normalise_url(url: &str) -> Result<(Backend, String), String> {
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| "expected sqlite://FILE or postgres://HOST/DB".to_owned())?;
    match scheme {
        "sqlite" => {
            let path = rest.trim_start_matches("//");
            if path.is_empty() || path.starts_with('?') {
                return Err("the SQLite URL names no file (sqlite://millrace.db)".into());
            }
            if path == ":memory:" || path.starts_with(":memory:?") {
                return Err(
                    "an in-memory SQLite database would vanish with each connection; \
                            name a file"
                        .into(),
                );
            }
            let with_mode = if rest.contains("mode=") {
                url.to_owned()
            } else if rest.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            Ok((Backend::Sqlite, with_mode))
        }
        "postgres" | "postgresql" => {
            if !rest.starts_with("//") || rest.len() <= 2 {
                return Err("expected postgres://USER@HOST:PORT/DATABASE".into());
            }
            Ok((Backend::Postgres, url.to_owned()))
        }
        other => Err(format!(
            "unsupported scheme '{other}': use sqlite:// or postgres://"
        )),
    }
}

fn pool_options(backend: Backend, busy_timeout: Duration) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
    match backend {
        // One writer at a time is SQLite's rule; more connections only help readers.
        Backend::Sqlite => options.max_connections(8).after_connect(move |conn, _| {
            let pragmas = sqlite_pragmas(busy_timeout);
            Box::pin(async move { conn.execute(pragmas.as_str()).await.map(|_| ()) })
        }),
        Backend::Postgres => options.max_connections(16),
    }
}

/// WAL lets readers run beside the writer. `synchronous = NORMAL` in WAL mode makes every
/// committed transaction survive a crash of the process (kill -9); only an OS crash or power
/// loss can lose the last transactions before a checkpoint. README.md says the same.
fn sqlite_pragmas(busy_timeout: Duration) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON;",
        busy_timeout.as_millis()
    )
}

fn classify(url: &str, error: sqlx::Error) -> OpenError {
    let url = url.to_owned();
    match &error {
        sqlx::Error::Database(db) if db.message().contains("database is locked") => {
            OpenError::Locked { url }
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            OpenError::Unreachable {
                url,
                reason: error.to_string(),
            }
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            OpenError::Unreachable {
                url,
                reason: db.message().to_owned(),
            }
        }
        _ => OpenError::Other {
            url,
            reason: error.to_string(),
        },
    }
}

/// The URL without its password, fit for messages and logs.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_unless_they_choose_one() {
        assert_eq!(
            normalise_url("sqlite://a.db").unwrap().1,
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("sqlite:a.db?cache=shared").unwrap().1,
            "sqlite:a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            normalise_url("sqlite://a.db?mode=ro").unwrap().1,
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn malformed_database_urls_are_refused_with_a_reason() {
        for bad in [
            "millrace.db",
            "mysql://x/y",
            "sqlite://",
            "sqlite::memory:",
            "postgres:x",
        ] {
            assert!(normalise_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalise_url("postgresql://h/db").unwrap().0,
            Backend::Postgres
        );
    }

    #[test]
    fn passwords_are_removed_from_urls_in_messages() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_reported_as_unreachable() {
        let error = Db::open("postgres://127.0.0.1:1/none").await.unwrap_err();
        assert!(matches!(error, OpenError::Unreachable { .. }), "{error}");
    }

    #[tokio::test]
    async fn a_locked_sqlite_file_is_reported_as_locked() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();

        let opened = Db::open_with(&url, Duration::from_millis(200)).await;
        let error = match opened {
            Ok(db) => db.migrate().await.unwrap_err(),
            Err(error) => error,
        };
        assert!(matches!(error, OpenError::Locked { .. }), "{error}");
    }
}
