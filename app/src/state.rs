//! What every request handler and server function shares: options, the store, and how jobs run.

use crate::db::events::Event;
use crate::db::queue::GpuPrices;
use crate::db::Db;
use crate::file_store::FileStore;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};

/// Shared server state, provided as context to SSR and server functions.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    /// Site settings (address, output name, site root).
    pub leptos_options: LeptosOptions,
    /// The store.
    pub db: Db,
    /// The queue's settings and wake-up signal.
    pub runs: Arc<RunSettings>,
    /// New events, in batches, as the server's event pump reads them from the store.
    pub events: broadcast::Sender<Arc<[Event]>>,
}

/// A channel for event batches: slow listeners lag (and resynchronise) rather than hold the
/// server back.
pub fn event_channel() -> broadcast::Sender<Arc<[Event]>> {
    broadcast::channel(1024).0
}

/// How the server runs jobs: where files go, how long leases last, what GPU time costs.
#[derive(Debug)]
pub struct RunSettings {
    /// Where code snapshots and artifacts are kept.
    pub files: FileStore,
    /// A lease ends this long after the runner's last heartbeat.
    pub lease_ms: i64,
    /// Price of a GPU-hour by runner label.
    pub prices: GpuPrices,
    /// Most bytes of snapshots and artifacts each user may keep in the file store; `None`:
    /// no limit.
    pub quota: Option<u64>,
    /// Woken when a job is queued, so runners waiting for work lease it at once.
    pub queued: Notify,
    /// The origin people reach the site at (`https://ml.example.com`, from `--public-url`),
    /// when set: signed-in requests must come from it, and an https one makes cookies `Secure`.
    pub public_origin: Option<String>,
    /// The folder of programs pool specs may run (`--pool-scripts`); `None`: no pools.
    pub pool_scripts: Option<std::path::PathBuf>,
    /// The address a pool's new machines reach this server at: the public URL, else the
    /// address it listens on.
    pub runner_url: String,
}

impl RunSettings {
    /// Settings with files in `files`, a 30 s lease, no prices, no quota, no public URL and no
    /// pools.
    pub fn new(files: FileStore) -> Self {
        Self {
            files,
            lease_ms: 30_000,
            prices: GpuPrices::default(),
            quota: None,
            queued: Notify::new(),
            public_origin: None,
            pool_scripts: None,
            runner_url: String::new(),
        }
    }

    /// Whether cookies get the `Secure` attribute: the site is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("https://"))
    }
}
