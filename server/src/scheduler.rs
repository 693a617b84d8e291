//! The server's periodic work: ending the leases of runners that stopped reporting, driving
//! sweeps, and growing and shrinking pools.

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
