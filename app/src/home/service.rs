//! Reads the home view from the store.

use super::{Capacity, Home, HomeJob};
use crate::db::home::{self as store, OwnJob};
use crate::db::{runners, Db};
use crate::error::AppError;
use crate::model::{JobStatus, RunnerInfo};

/// How far back "failed lately" looks.
const FAILED_WITHIN_MS: i64 = 24 * 3_600_000;

/// `user`'s home view as of `now_ms`.
pub async fn home(db: &Db, user: i64, now_ms: i64) -> Result<Home, AppError> {
    let in_progress = store::in_progress(db, user).await?;
    let failed = store::failed_since(db, user, now_ms - FAILED_WITHIN_MS).await?;
    let mut capacity = Capacity {
        waiting: store::waiting_for_a_runner(db).await?,
        ..Capacity::default()
    };
    let heard_since = now_ms - RunnerInfo::SILENT_AFTER_S * 1000;
    for row in runners::list(db).await? {
        if row.runner.last_seen_ms >= heard_since {
            capacity.runners += 1;
            capacity.gpus += u32::try_from(row.runner.gpu_list().len()).unwrap_or(u32::MAX);
            capacity.busy_gpus += u32::try_from(row.busy_gpus).unwrap_or_default();
        }
    }
    Ok(Home {
        in_progress: in_progress.into_iter().filter_map(home_job).collect(),
        failed: failed.into_iter().filter_map(home_job).collect(),
        capacity,
    })
}

fn home_job(job: OwnJob) -> Option<HomeJob> {
    Some(HomeJob {
        status: JobStatus::from_code(job.status)?,
        since_ms: job.finished_ms.or(job.started_ms).unwrap_or(job.created_ms),
        owner: job.owner,
        project: job.project,
        number: job.number,
        name: job.name,
    })
}
