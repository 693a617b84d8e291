//! A migrated store with one user, the router around it, and request shortcuts.

use app::db::{self, Db};
use app::state::AppState;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A running app on a temporary SQLite file.
pub struct TestApp {
    /// The store behind it.
    pub db: Db,
    /// The HTTP app.
    pub router: Router,
    /// What the router serves from.
    pub state: AppState,
    _one_at_a_time: Option<std::sync::MutexGuard<'static, ()>>,
    dir: tempfile::TempDir,
}

/// The password of the user every test app has.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// A fresh app whose store holds the user `ann` with [`PASSWORD`].
    #[expect(
        clippy::await_holding_lock,
        reason = "the turn is held for the whole test on purpose; waiters block their own thread"
    )]
    pub async fn new() -> Self {
        // Each test has its own tokio runtime; rendering pages in several at once in one process
        // hung about one run in twenty (never when run one at a time), so test apps take turns.
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let one_at_a_time = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir).await;
        let ann = db::users::create(&db, "ann", "Ann Example").await.unwrap();
        db::users::set_password_hash(&db, ann.id, &app::auth::hash_password(PASSWORD))
            .await
            .unwrap();
        Self::serving(db, dir, Some(one_at_a_time))
    }

    /// A second app on a copy of this one's store and files: the same state again, cheaply, for
    /// tests that try many callers on it. It runs beside this one in the same test.
    pub async fn copy(&self) -> Self {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.db.pool())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        copy_tree(self.dir.path(), dir.path());
        Self::serving(open(&dir).await, dir, None)
    }

    fn serving(
        db: Db,
        dir: tempfile::TempDir,
        turn: Option<std::sync::MutexGuard<'static, ()>>,
    ) -> Self {
        let options = leptos::config::LeptosOptions::builder()
            .output_name("millrace")
            .build();
        let files = app::file_store::FileStore::local(&dir.path().join("files")).unwrap();
        let runs = app::state::RunSettings::new(files);
        let state = AppState {
            leptos_options: options,
            db: db.clone(),
            runs: std::sync::Arc::new(runs),
            events: app::state::event_channel(),
        };
        let router = server::startup::router(state.clone(), server::monitoring::Monitor::new(None));
        Self {
            db,
            router,
            state,
            _one_at_a_time: turn,
            dir,
        }
    }

    /// The same app with its files in a fresh prefix of the S3 test server's bucket (started by
    /// `scripts/s3.sh`; `MILLRACE_TEST_S3` names another).
    pub fn on_s3(mut self) -> Self {
        let endpoint = std::env::var("MILLRACE_TEST_S3")
            .unwrap_or_else(|_| "http://127.0.0.1:8014".to_owned());
        let settings = [
            ("aws_endpoint_url", endpoint.as_str()),
            ("aws_access_key_id", "millrace-test"),
            ("aws_secret_access_key", "millrace-test-secret"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let prefix = format!("api-{:016x}", rand::random::<u64>());
        let location = format!("s3://millrace-test/{prefix}");
        let files = app::file_store::FileStore::open_with(&location, settings).unwrap();
        self.state.runs = std::sync::Arc::new(app::state::RunSettings::new(files));
        self.router =
            server::startup::router(self.state.clone(), server::monitoring::Monitor::new(None));
        self
    }

    /// The directory of its file store.
    pub fn files_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("files")
    }

    /// Where snapshot `sha` lies in its file store's directory.
    pub fn snapshot_file(&self, sha: &str) -> std::path::PathBuf {
        self.files_dir()
            .join("snapshots")
            .join(format!("{sha}.tar.gz"))
    }

    /// Where the artifacts of job `uid` lie in its file store's directory.
    pub fn artifacts_dir(&self, uid: &str) -> std::path::PathBuf {
        self.files_dir().join("artifacts").join(uid)
    }

    /// Sends a request and returns the answer as it is.
    pub async fn response(&self, request: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Sends a request that must succeed (200) and returns the body's bytes.
    pub async fn bytes(&self, request: Request<Body>) -> Vec<u8> {
        let response = self.response(request).await;
        assert_eq!(response.status(), StatusCode::OK);
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    /// Sends a request and returns status, headers and body text.
    pub async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// `GET path` with an optional `Authorization` header value.
    pub async fn get(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::get(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// The id of the user called `name`.
    pub async fn user_id(&self, name: &str) -> i64 {
        db::users::find_by_name(&self.db, name)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// A new API token of `ann`, and its id.
    pub async fn token(&self) -> (i64, String) {
        let ann = db::users::find_by_name(&self.db, "ann")
            .await
            .unwrap()
            .unwrap();
        app::auth::create_token(
            &self.db,
            ann.id,
            "test",
            app::model::TokenScope::Write,
            None,
        )
        .await
        .unwrap()
    }
}

/// The migrated store in `dir`.
async fn open(dir: &tempfile::TempDir) -> Db {
    let db = Db::open(&format!("sqlite://{}", dir.path().join("api.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db
}

/// Copies the files under `from` into `to`, directories included; SQLite's write-ahead log and
/// its index are left behind (the log was checkpointed into the database file).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with("-wal") || name.ends_with("-shm") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
