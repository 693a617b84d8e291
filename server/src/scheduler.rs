//! The server's periodic work: ending the leases of runners that stopped reporting, driving
//! sweeps and pipelines, and growing and shrinking pools.

pub mod pipelines;
mod pool_command;
pub mod pools;
pub mod sweeps;

use app::db::queue;
use app::model::JobStatus;
use app::state::AppState;
use std::time::Duration;

/// Checks leases every `every` until `stop` resolves; failures are logged and retried.
pub async fn run(state: AppState, every: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut ticks = ticks(every);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = expire_leases(&state).await {
            tracing::warn!(%error, "checking job leases failed; trying again");
        }
    }
}

/// A tick every `every`; a pass that overruns delays the next instead of bunching them up.
pub fn ticks(every: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// Runs `pass` every `every`, and at once when events of `kinds` arrive, until `stop`
/// resolves; a failed pass is logged as `what` failing and the next one tries again.
pub async fn drive_on<F, Fut>(
    state: AppState,
    every: Duration,
    kinds: &[&str],
    what: &str,
    stop: impl std::future::Future<Output = ()>,
    pass: F,
) where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<()>>,
{
    tokio::pin!(stop);
    let mut events = state.events.subscribe();
    let mut ticks = ticks(every);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
            () = event_of(&mut events, kinds) => {}
        }
        if let Err(error) = pass(state.clone()).await {
            tracing::warn!(%error, "{what} failed; trying again");
        }
    }
}

/// Resolves when a batch of events holds one of `kinds` (or some were missed, which might
/// have).
async fn event_of(
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<[app::db::events::Event]>>,
    kinds: &[&str],
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(batch) if batch.iter().any(|e| kinds.contains(&e.kind.as_str())) => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            // No more events: the ticks alone drive the work.
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// Requeues or loses the jobs whose leases ran out.
pub async fn expire_leases(state: &AppState) -> sqlx::Result<()> {
    let prices = &state.runs.prices;
    let pool_prices = app::db::pools::runner_prices(&state.db).await?;
    let expired = queue::expire(&state.db, app::db::now_ms(), |runner, labels| {
        runner
            .and_then(|id| pool_prices.get(&id).copied())
            .or_else(|| prices.for_labels(labels))
    })
    .await?;
    for job in &expired {
        tracing::info!(uid = %job.uid, status = job.status.as_str(), "a runner stopped reporting");
    }
    if expired.iter().any(|job| job.status == JobStatus::Queued) {
        state.runs.queued.notify_waiters();
    }
    Ok(())
}
