//! One leader among replicas: the scheduler, the sweep and pipeline drivers and the pools run on
//! exactly one `serve` process at a time. On PostgreSQL the leader holds a session advisory lock
//! on a connection of its own; when it dies the connection closes, the lock frees and another
//! replica takes it within [`RETRY`]. SQLite has one process, which always leads.

use crate::monitoring::Monitor;
use app::db::Backend;
use app::state::AppState;
use sqlx::AnyConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often a follower tries to take the lock, and the leader checks it still holds it.
pub const RETRY: Duration = Duration::from_secs(2);

/// The periodic work only the leader does, each run until its stop future resolves.
#[derive(Clone, Copy, Debug)]
pub struct Duties {
    /// How often leases are checked.
    pub leases_every: Duration,
    /// How often sweeps and pipelines are driven when no job changes status.
    pub sweeps_every: Duration,
    /// How often pools are looked at.
    pub pools_every: Duration,
}

/// Runs `duties` whenever this replica leads, until `stop` resolves; reports leadership to
/// `monitor`.
pub async fn run(
    state: AppState,
    monitor: Arc<Monitor>,
    duties: Duties,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    if state.db.backend() == Backend::Sqlite {
        monitor.set_leader(true);
        lead(&state, duties, stop).await;
        return;
    }
    loop {
        let mut lock = tokio::select! {
            () = &mut stop => return,
            lock = take_lock(&state) => lock,
        };
        tracing::info!("this replica leads: it runs the scheduler and sweeps");
        monitor.set_leader(true);
        let stopped = tokio::select! {
            () = lead(&state, duties, &mut stop) => true,
            () = lose(&mut lock) => false,
        };
        monitor.set_leader(false);
        if stopped {
            // Closing the connection would free the lock too; unlocking says so at once.
            let _ = sqlx::query(UNLOCK).execute(&mut lock).await;
            return;
        }
        tracing::warn!("this replica lost the leader's lock; it follows until it can lead again");
    }
}

/// Runs the leader's duties until `stop` resolves (dropping them stops them between passes).
async fn lead(state: &AppState, duties: Duties, stop: impl Future<Output = ()>) {
    let (quit, quitting) = watch::channel(false);
    let until_quit = || {
        let mut quitting = quitting.clone();
        async move {
            let _ = quitting.wait_for(|q| *q).await;
        }
    };
    let scheduler = crate::scheduler::run(state.clone(), duties.leases_every, until_quit());
    let sweeps = crate::scheduler::sweeps::run(state.clone(), duties.sweeps_every, until_quit());
    let pipelines =
        crate::scheduler::pipelines::run(state.clone(), duties.sweeps_every, until_quit());
    let pools = crate::scheduler::pools::run(state.clone(), duties.pools_every, until_quit());
    let work = async {
        tokio::join!(scheduler, sweeps, pipelines, pools);
    };
    tokio::pin!(work);
    tokio::select! {
        () = stop => {
            let _ = quit.send(true);
            work.await;
        }
        () = &mut work => {}
    }
}

/// The lock's key: one per schema, so test runs in schemas of one database do not share it.
const LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('millrace.leader.' || current_schema()))";
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtext('millrace.leader.' || current_schema()))";

/// A connection holding the leader's lock, once this replica gets it.
async fn take_lock(state: &AppState) -> AnyConnection {
    let mut conn: Option<AnyConnection> = None;
    loop {
        if conn.is_none() {
            // Out of the pool for good: the lock lives as long as this one connection.
            match state.db.pool().acquire().await {
                Ok(pooled) => conn = Some(pooled.detach()),
                Err(error) => tracing::warn!(%error, "leader election: no connection; retrying"),
            }
        }
        if let Some(c) = conn.as_mut() {
            match sqlx::query_scalar::<_, bool>(LOCK).fetch_one(&mut *c).await {
                Ok(true) => return conn.take().expect("just used"),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, "leader election: the lock query failed; retrying");
                    conn = None;
                }
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Resolves when the connection holding the lock stops answering: the lock went with it.
async fn lose(lock: &mut AnyConnection) {
    loop {
        tokio::time::sleep(RETRY).await;
        if let Err(error) = sqlx::query("SELECT 1").execute(&mut *lock).await {
            tracing::warn!(%error, "the leader's connection failed");
            return;
        }
    }
}
