//! Running jobs from the web app: stop, rerun, a job's output, and the runners.

use crate::error::AppError;
use crate::model::{LogCursor, LogPage, RunnerInfo};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Most log chunks one call returns; the pane asks again for more.
pub const LOG_CHUNKS: i64 = 500;

/// Stops the jobs with global ids `jobs` of `owner/project`: queued ones at once, running ones
/// through their runner. Jobs that report from elsewhere, or have ended, are left as they are.
/// Returns how many were stopped or are stopping.
#[server(input = Json, endpoint = "stop_jobs")]
pub async fn stop_jobs(
    owner: String,
    project: String,
    jobs: Vec<String>,
) -> Result<usize, AppError> {
    use crate::db::queue::{self, Cancel};
    use crate::{job::service, server_fns::with_status};

    with_status(
        async {
            let (mut tx, ids) = service::jobs_to_write(&owner, &project, &jobs).await?;
            let mut stopped = 0;
            for id in ids {
                if matches!(
                    queue::cancel(&mut tx, id).await?,
                    Cancel::Dequeued | Cancel::Requested
                ) {
                    stopped += 1;
                }
            }
            tx.commit().await?;
            Ok(stopped)
        }
        .await,
    )
}

/// Queues a new run of each job with global ids `jobs` of `owner/project`, with the same spec;
/// all or none. Returns the new jobs' numbers.
#[server(input = Json, endpoint = "rerun_jobs")]
pub async fn rerun_jobs(
    owner: String,
    project: String,
    jobs: Vec<String>,
) -> Result<Vec<i64>, AppError> {
    use crate::auth::require_caller;
    use crate::db::queue;
    use crate::state::AppState;
    use crate::{job::service, server_fns::with_status};

    with_status(
        async {
            let user = require_caller()?.user;
            let (mut tx, ids) = service::jobs_to_write(&owner, &project, &jobs).await?;
            let mut numbers = Vec::with_capacity(ids.len());
            for id in ids {
                let created = queue::rerun(&mut tx, id, user.id).await?.ok_or_else(|| {
                    AppError::Invalid("only jobs millrace ran from a spec can be rerun".into())
                })?;
                numbers.push(created.number);
            }
            tx.commit().await?;
            expect_context::<AppState>().runs.queued.notify_waiters();
            Ok(numbers)
        }
        .await,
    )
}

/// Output of job `job` (number or global id) of `owner/project` from `after`, or its end when
/// `after` is `None`: at most [`LOG_CHUNKS`] chunks and 1 MiB (`db::logs::READ_BYTES`), whole
/// lines only; `more` says to ask again at once.
#[server(input = Json, endpoint = "get_logs")]
pub async fn get_logs(
    owner: String,
    project: String,
    job: String,
    after: Option<LogCursor>,
) -> Result<LogPage, AppError> {
    use crate::db::{self, logs::READ_BYTES};
    use crate::model::{JobStatus, LogChunk};
    use crate::state::AppState;
    use crate::{job::service, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = service::visible_project(&state, &owner, &project).await?;
            let job = db::jobs::find_in_project(&state.db, project.id, &job)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut conn = state.db.pool().acquire().await?;
            let read = match after {
                Some(from) => {
                    db::logs::read(&mut conn, job.id, from, LOG_CHUNKS, READ_BYTES).await?
                }
                None => db::logs::read_tail(&mut conn, job.id, LOG_CHUNKS, READ_BYTES).await?,
            };
            Ok(LogPage {
                chunks: read
                    .chunks
                    .into_iter()
                    .map(|c| LogChunk {
                        seq: c.seq,
                        stderr: c.stream == "stderr",
                        text: c.text,
                    })
                    .collect(),
                next: read.next,
                cut: read.cut,
                more: read.more,
                status: JobStatus::from_code(job.status).unwrap_or(JobStatus::Lost),
            })
        }
        .await,
    )
}

/// Every registered runner with its load.
#[server(input = Json, endpoint = "list_runners")]
pub async fn list_runners() -> Result<Vec<RunnerInfo>, AppError> {
    use crate::{auth::require_caller, db, server_fns::with_status, state::AppState};

    with_status(
        async {
            require_caller()?;
            let state = expect_context::<AppState>();
            let rows = db::runners::list(&state.db).await?;
            Ok(rows
                .into_iter()
                .map(|row| RunnerInfo {
                    gpus: row.runner.gpu_list(),
                    gpu_models: row.runner.gpu_model_list(),
                    labels: row.runner.label_list(),
                    name: row.runner.name,
                    hostname: row.runner.hostname,
                    max_jobs: row.runner.max_jobs,
                    active_jobs: row.active_jobs,
                    busy_gpus: row.busy_gpus,
                    seen_ago_s: (db::now_ms() - row.runner.last_seen_ms) / 1000,
                })
                .collect())
        }
        .await,
    )
}
