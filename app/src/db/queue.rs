//! The job queue: leasing queued jobs to runners, heartbeats, output, finishing, cancelling,
//! and expiring the leases of runners that went silent.

use super::metrics::{self, Point};
use super::runners::Runner;
use super::sql::{Arg, BindsOptionalFloat, Sql};
use super::{events, jobs, logs, now_ms, Backend, Db, Tx};
use crate::model::{Gpu, JobStatus};
use serde_json::json;
use std::collections::BTreeMap;

/// A job handed to a runner.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct Lease {
    /// Database id.
    pub id: i64,
    /// Global id.
    pub uid: String,
    /// Number within its project.
    pub number: i64,
    /// Its project as `owner/name`.
    pub project: String,
    /// Human name of the run.
    pub name: String,
    /// The resolved spec, JSON.
    pub spec: String,
    /// GPUs it asked for.
    pub gpus: i64,
    /// Which try this is, from 1.
    pub attempt: i64,
    /// Output lines already stored (non-zero only if an earlier runner of this try uploaded).
    pub log_lines: i64,
    /// The GPU ids leased to it, comma-separated.
    pub gpu_ids: String,
    #[sqlx(skip)]
    /// A token acting as the job's creator until the job ends, for its tracking code.
    pub token: Option<String>,
}

// By hand, so that printing a lease prints neither the job's token nor its spec's env values.
impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = crate::model::HIDDEN_VALUE;
        f.debug_struct("Lease")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("number", &self.number)
            .field("project", &self.project)
            .field("name", &self.name)
            .field("spec", &hidden)
            .field("gpus", &self.gpus)
            .field("attempt", &self.attempt)
            .field("log_lines", &self.log_lines)
            .field("gpu_ids", &self.gpu_ids)
            .field("token", &self.token.as_ref().map(|_| hidden))
            .finish()
    }
}

/// The lease of the oldest queued job that fits `runner` (enough of `free_gpus` with the memory
/// and model it asks for, every label it needs), taken atomically: two runners never get the
/// same job. The lease lasts `lease_ms`.
pub async fn lease(
    db: &Db,
    runner: &Runner,
    free_gpus: &[String],
    lease_ms: i64,
) -> sqlx::Result<Option<Lease>> {
    let free = described(runner, free_gpus);
    let mut tx = db.begin().await?;
    let Some(job) = next_fitting(&mut tx, db.backend(), runner, &free).await? else {
        return Ok(None);
    };
    let (gpus, memory_mib, model): (i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT gpus, gpu_memory_mib, gpu_model FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&mut *tx)
            .await?;
    let gpu_ids = free
        .iter()
        .filter(|gpu| gpu.fits(memory_mib, model.as_deref()))
        .take(usize::try_from(gpus).unwrap_or(0))
        .map(|gpu| gpu.id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let now = now_ms();
    let (token_id, token) = job_token(&mut tx, job, now).await?;
    sqlx::query(
        "UPDATE jobs SET status = $1, runner_id = $2, runner = $3, gpu_ids = $4,
            lease_expires_ms = $5, attempt = attempt + 1, token_id = $6, error = NULL,
            exit_code = NULL
         WHERE id = $7",
    )
    .bind(JobStatus::Starting.code())
    .bind(runner.id)
    .bind(&runner.name)
    .bind(&gpu_ids)
    .bind(now + lease_ms)
    .bind(token_id)
    .bind(job)
    .execute(&mut *tx)
    .await?;
    let mut lease = sqlx::query_as::<_, Lease>(
        "SELECT j.id, j.uid, j.number, u.name || '/' || p.name AS project, j.name, j.spec, j.gpus,
                j.attempt, j.log_lines, j.gpu_ids
         FROM jobs j JOIN projects p ON p.id = j.project_id JOIN users u ON u.id = p.owner_id
         WHERE j.id = $1",
    )
    .bind(job)
    .fetch_one(&mut *tx)
    .await?;
    lease.token = token;
    status_event(&mut tx, job, JobStatus::Starting, Some(&runner.name)).await?;
    tx.commit().await?;
    Ok(Some(lease))
}

/// The free GPUs as `runner` described them; one it did not describe (`--gpus 0,1`) has no
/// name and no memory, so it only fits jobs that ask for neither.
fn described(runner: &Runner, free_gpus: &[String]) -> Vec<Gpu> {
    let models = runner.gpu_model_list();
    free_gpus
        .iter()
        .map(|id| {
            models
                .iter()
                .find(|gpu| &gpu.id == id)
                .cloned()
                .unwrap_or_else(|| Gpu {
                    id: id.clone(),
                    name: String::new(),
                    memory_mib: 0,
                    uuid: String::new(),
                })
        })
        .collect()
}

/// The id of the oldest queued job `runner` can take with its `free` GPUs, locked against
/// other runners.
async fn next_fitting(
    tx: &mut Tx,
    backend: Backend,
    runner: &Runner,
    free: &[Gpu],
) -> sqlx::Result<Option<i64>> {
    let mut sql = Sql::new("SELECT j.id FROM jobs j WHERE j.status = 0 AND j.spec IS NOT NULL");
    let fitting = fitting_gpus(&mut sql, free);
    sql.push(&format!(
        " AND j.gpus <= {fitting} AND NOT EXISTS (SELECT 1 FROM job_labels l \
         WHERE l.job_id = j.id"
    ));
    let labels = runner.label_list();
    if !labels.is_empty() {
        let placeholders: Vec<String> = labels
            .into_iter()
            .map(|label| sql.arg(Arg::Text(label)))
            .collect();
        sql.push(&format!(
            " AND l.label NOT IN ({})",
            placeholders.join(", ")
        ));
    }
    sql.push(") ORDER BY j.id LIMIT 1");
    // PostgreSQL: runners skip each other's candidate rows instead of queueing behind them.
    // SQLite: the write transaction (BEGIN IMMEDIATE) already excludes every other writer.
    if backend == Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    let row = sql.query_as::<(i64,)>().fetch_optional(&mut **tx).await?;
    Ok(row.map(|(id,)| id))
}

/// An SQL expression for how many of the `free` GPUs fit job `j`'s memory and model needs
/// (the SQL twin of [`Gpu::fits`]): all of them for a job that has none, else the sum over
/// each kind of free GPU (usually one) of its count when it fits.
fn fitting_gpus(sql: &mut Sql, free: &[Gpu]) -> String {
    let mut kinds: BTreeMap<(u64, &str), i64> = BTreeMap::new();
    for gpu in free {
        *kinds
            .entry((gpu.memory_mib, gpu.name.as_str()))
            .or_default() += 1;
    }
    let all = sql.arg(Arg::Int(i64::try_from(free.len()).unwrap_or(i64::MAX)));
    let mut sum = String::from("0");
    for ((memory_mib, name), count) in kinds {
        let memory = sql.arg(Arg::Int(i64::try_from(memory_mib).unwrap_or(i64::MAX)));
        let phrases: Vec<String> = Gpu::model_phrases(name)
            .into_iter()
            .map(|phrase| sql.arg(Arg::Text(phrase)))
            .collect();
        let model = if phrases.is_empty() {
            "j.gpu_model IS NULL".to_owned()
        } else {
            format!(
                "(j.gpu_model IS NULL OR j.gpu_model IN ({}))",
                phrases.join(", ")
            )
        };
        let count = sql.arg(Arg::Int(count));
        sum.push_str(&format!(
            " + CASE WHEN COALESCE(j.gpu_memory_mib, 0) <= {memory} AND {model} \
             THEN {count} ELSE 0 END"
        ));
    }
    format!(
        "(CASE WHEN j.gpu_memory_mib IS NULL AND j.gpu_model IS NULL THEN {all} ELSE {sum} END)"
    )
}

/// Creates the job's token, which acts only for this job (see [`super::tokens`]); a token of an
/// earlier lease dies first, so a job leased again cannot be written to by its old process.
async fn job_token(tx: &mut Tx, job: i64, now: i64) -> sqlx::Result<(Option<i64>, Option<String>)> {
    super::tokens::revoke_for_job(tx, job, now).await?;
    let creator: Option<i64> = sqlx::query_scalar("SELECT created_by FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&mut **tx)
        .await?;
    let Some(user) = creator else {
        return Ok((None, None));
    };
    let secret = crate::auth::new_secret();
    let hash = crate::auth::hash_secret(&secret);
    let id = super::tokens::insert_for_job(tx, user, job, &hash, now).await?;
    Ok((Some(id), Some(secret)))
}

/// What a runner learns about one of its jobs at a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// Keep running; the lease is renewed.
    Continue,
    /// Someone asked to stop it: terminate it and report `cancelled`.
    Cancel,
    /// The lease is no longer this runner's (it expired, or the job ended): kill it.
    Gone,
}

/// Renews `runner`'s leases on the jobs `uids` for `lease_ms` more; says for each what to do.
pub async fn heartbeat(
    db: &Db,
    runner: i64,
    uids: &[String],
    lease_ms: i64,
) -> sqlx::Result<Vec<(String, Heartbeat)>> {
    let mut tx = db.begin().await?;
    let now = now_ms();
    sqlx::query("UPDATE runners SET last_seen_ms = $1 WHERE id = $2")
        .bind(now)
        .bind(runner)
        .execute(&mut *tx)
        .await?;
    let mut answers = Vec::with_capacity(uids.len());
    for uid in uids {
        let cancel: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET lease_expires_ms = $1
             WHERE uid = $2 AND runner_id = $3 AND lease_expires_ms IS NOT NULL
             RETURNING cancel_requested",
        )
        .bind(now + lease_ms)
        .bind(uid)
        .bind(runner)
        .fetch_optional(&mut *tx)
        .await?;
        let answer = match cancel {
            None => Heartbeat::Gone,
            Some(0) => Heartbeat::Continue,
            Some(_) => Heartbeat::Cancel,
        };
        answers.push((uid.clone(), answer));
    }
    tx.commit().await?;
    Ok(answers)
}

/// The job `uid` if `runner` holds its lease: (id, project id, stored output lines, status).
/// On PostgreSQL the row stays locked until the transaction ends, so a report that races
/// another (a start and the end of a job that ran for a millisecond) waits for it and then
/// sees the lease it may have ended; SQLite's write transactions already take turns.
async fn leased(
    tx: &mut Tx,
    backend: Backend,
    runner: i64,
    uid: &str,
) -> sqlx::Result<Option<(i64, i64, i64, i64)>> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query_as(&format!(
        "SELECT id, project_id, log_lines, status FROM jobs
         WHERE uid = $1 AND runner_id = $2 AND lease_expires_ms IS NOT NULL{lock}"
    ))
    .bind(uid)
    .bind(runner)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks a leased job as running (its process started); false if the lease is not `runner`'s.
pub async fn started(db: &Db, runner: i64, uid: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let Some((job, ..)) = leased(&mut tx, db.backend(), runner, uid).await? else {
        return Ok(false);
    };
    jobs::set_status(&mut tx, job, JobStatus::Running, now_ms()).await?;
    status_event(&mut tx, job, JobStatus::Running, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// A metric value picked out of output line `line` (its index in the job's output).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputPoint {
    /// Index of the output line it came from, counted from 0 over the whole job.
    pub line: i64,
    /// Metric key.
    pub key: String,
    /// The point.
    pub point: Point,
}

/// Why output could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The runner does not hold the job's lease (any more).
    #[error("this runner does not hold the job's lease")]
    NotLeased,
    /// The batch starts after lines the server has not seen.
    #[error("output lines {stored}..{from} are missing; send from line {stored}")]
    Gap {
        /// Lines stored.
        stored: i64,
        /// Where the batch starts.
        from: i64,
    },
    /// The query failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Stores output lines `from..` of a leased job with the metric points picked out of them.
/// Lines (and their points) already stored by an earlier try of the same upload are skipped,
/// so a runner may resend a batch it is unsure of.
pub async fn append_output(
    db: &Db,
    runner: i64,
    uid: &str,
    from: i64,
    lines: &[(&str, &str)],
    points: &[OutputPoint],
) -> Result<OutputStored, OutputError> {
    let mut tx = db.begin().await?;
    let (job, project, stored, _) = leased(&mut tx, db.backend(), runner, uid)
        .await?
        .ok_or(OutputError::NotLeased)?;
    if from > stored {
        return Err(OutputError::Gap { stored, from });
    }
    let skip = usize::try_from(stored - from).unwrap_or(usize::MAX);
    let new_lines = lines.get(skip..).unwrap_or_default();
    if new_lines.is_empty() {
        return Ok(OutputStored {
            lines: stored,
            new_points: 0,
        });
    }
    let now = now_ms();
    for (stream, text) in group_by_stream(new_lines) {
        logs::append(&mut tx, job, stream, &text, now).await?;
    }
    let fresh: Vec<(&str, Point)> = points
        .iter()
        .filter(|p| p.line >= stored)
        .map(|p| (p.key.as_str(), p.point))
        .collect();
    if !fresh.is_empty() {
        metrics::append_keyed(&mut tx, project, job, &fresh).await?;
    }
    let total = from + lines.len() as i64;
    sqlx::query("UPDATE jobs SET log_lines = $1 WHERE id = $2")
        .bind(total)
        .bind(job)
        .execute(&mut *tx)
        .await?;
    let payload = json!({ "lines": new_lines.len(), "points": fresh.len() });
    events::append(&mut tx, "logs", Some(project), Some(job), &payload).await?;
    tx.commit().await?;
    Ok(OutputStored {
        lines: total,
        new_points: fresh.len(),
    })
}

/// What [`append_output`] holds for the job after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputStored {
    /// Output lines stored for this try in all.
    pub lines: i64,
    /// Metric points this batch added (none for lines stored before).
    pub new_points: usize,
}

/// Consecutive lines of one stream joined into one chunk, each line ending in a newline.
fn group_by_stream<'a>(lines: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    let mut runs: Vec<(&str, String)> = Vec::new();
    for (stream, text) in lines {
        match runs.last_mut() {
            Some((s, run)) if s == stream => {
                run.push_str(text);
                run.push('\n');
            }
            _ => runs.push((stream, format!("{text}\n"))),
        }
    }
    runs
}

/// How a run ended, as its runner reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: JobStatus,
    /// The process's exit code, if it exited (not if it could not start or was signalled).
    pub exit_code: Option<i64>,
    /// Why it failed, for people.
    pub error: Option<String>,
}

/// Ends `runner`'s lease on job `uid` with `outcome`, pricing its GPU time at
/// `price_per_gpu_hour`; false if the runner does not hold the lease.
pub async fn finish(
    db: &Db,
    runner: i64,
    uid: &str,
    outcome: &Outcome,
    price_per_gpu_hour: Option<f64>,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let Some((job, ..)) = leased(&mut tx, db.backend(), runner, uid).await? else {
        return Ok(false);
    };
    jobs::set_status(&mut tx, job, outcome.status, now_ms()).await?;
    sqlx::query(
        "UPDATE jobs SET exit_code = $1, error = $2, lease_expires_ms = NULL,
            cost_usd = gpus * duration_ms / 3600000.0 * $3
         WHERE id = $4",
    )
    .bind(outcome.exit_code)
    .bind(outcome.error.as_deref())
    .bind(price_per_gpu_hour)
    .bind(job)
    .uncached_if_null(price_per_gpu_hour.is_none())
    .execute(&mut *tx)
    .await?;
    add_cost_to_project(&mut tx, job).await?;
    end_token(&mut tx, job).await?;
    status_event(&mut tx, job, outcome.status, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Adds a just-priced job's cost to its project's total.
async fn add_cost_to_project(tx: &mut Tx, job: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE projects SET cost_usd = cost_usd
            + COALESCE((SELECT cost_usd FROM jobs WHERE id = $1), 0)
         WHERE id = (SELECT project_id FROM jobs WHERE id = $1)",
    )
    .bind(job)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Revokes the job's token, so its tracking code can no longer write once it has ended.
async fn end_token(tx: &mut Tx, job: i64) -> sqlx::Result<()> {
    super::tokens::revoke_for_job(tx, job, now_ms()).await
}

/// What a cancel request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// The job was waiting in the queue and is now cancelled.
    Dequeued,
    /// The job is on a runner, which stops it at its next heartbeat.
    Requested,
    /// The job had already ended with this status.
    AlreadyEnded(JobStatus),
    /// The job is tracked from elsewhere: millrace cannot stop its process.
    NotRun,
}

/// Asks job `job` to stop: a queued job is cancelled at once, a leased one at its runner's next
/// heartbeat.
pub async fn cancel(tx: &mut Tx, job: i64) -> sqlx::Result<Cancel> {
    let (project, status, spec, leased): (i64, i64, Option<String>, Option<i64>) =
        sqlx::query_as("SELECT project_id, status, spec, lease_expires_ms FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&mut **tx)
            .await?;
    let status = JobStatus::from_code(status).unwrap_or(JobStatus::Lost);
    if status.is_finished() {
        return Ok(Cancel::AlreadyEnded(status));
    }
    if spec.is_none() {
        return Ok(Cancel::NotRun);
    }
    if status == JobStatus::Queued && leased.is_none() {
        jobs::set_status(tx, job, JobStatus::Cancelled, now_ms()).await?;
        status_event(tx, job, JobStatus::Cancelled, None).await?;
        return Ok(Cancel::Dequeued);
    }
    sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1")
        .bind(job)
        .execute(&mut **tx)
        .await?;
    events::append(tx, "job.cancel", Some(project), Some(job), &json!({})).await?;
    Ok(Cancel::Requested)
}

/// Job `uid`'s project and stored plan, if it is a job run here.
pub async fn plan(db: &Db, uid: &str) -> sqlx::Result<Option<(i64, String)>> {
    let found: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT project_id, spec FROM jobs WHERE uid = $1")
            .bind(uid)
            .fetch_optional(db.pool())
            .await?;
    Ok(found.and_then(|(project, plan)| Some((project, plan?))))
}

/// Whether job `uid` is a job of `project`.
pub async fn is_in_project(db: &Db, uid: &str, project: i64) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE uid = $1 AND project_id = $2")
            .bind(uid)
            .bind(project)
            .fetch_optional(db.pool())
            .await?;
    Ok(found.is_some())
}

/// A job whose runner went silent, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    /// Global id.
    pub uid: String,
    /// `queued` again (it had retries left), `lost`, or `cancelled` (a stop was asked).
    pub status: JobStatus,
}

/// A job whose lease ran out, as [`expire`] reads it.
#[derive(sqlx::FromRow)]
struct ExpiredLease {
    id: i64,
    uid: String,
    retries_left: i64,
    cancel_requested: i64,
    runner: Option<String>,
    runner_id: Option<i64>,
    labels: Option<String>,
}

/// Ends the leases that expired before `now`: each job is requeued if it has retries left,
/// cancelled if a stop was asked, and lost otherwise; `price` gives a runner's GPU-hour price
/// from its id and labels.
pub async fn expire(
    db: &Db,
    now: i64,
    price: impl Fn(Option<i64>, &[String]) -> Option<f64>,
) -> sqlx::Result<Vec<Expired>> {
    let mut tx = db.begin().await?;
    let lock = if db.backend() == Backend::Postgres {
        " FOR UPDATE OF j SKIP LOCKED"
    } else {
        ""
    };
    let rows: Vec<ExpiredLease> = sqlx::query_as(&format!(
        "SELECT j.id, j.uid, j.retries_left, j.cancel_requested, j.runner, j.runner_id, r.labels
         FROM jobs j LEFT JOIN runners r ON r.id = j.runner_id
         WHERE j.lease_expires_ms < $1 ORDER BY j.id{lock}"
    ))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = Vec::with_capacity(rows.len());
    for row in rows {
        let (job, uid) = (row.id, row.uid);
        let runner = row.runner.unwrap_or_else(|| "its runner".to_owned());
        let labels: Vec<String> = row
            .labels
            .and_then(|l| serde_json::from_str(&l).ok())
            .unwrap_or_default();
        let status = if row.cancel_requested != 0 {
            JobStatus::Cancelled
        } else if row.retries_left > 0 {
            JobStatus::Queued
        } else {
            JobStatus::Lost
        };
        let error = format!("runner {runner} stopped reporting");
        if status == JobStatus::Queued {
            requeue(&mut tx, job, &format!("{error}; requeued")).await?;
        } else {
            jobs::set_status(&mut tx, job, status, now).await?;
            let cost_per_hour = price(row.runner_id, &labels);
            sqlx::query(
                "UPDATE jobs SET lease_expires_ms = NULL, error = $1,
                    cost_usd = gpus * duration_ms / 3600000.0 * $2
                 WHERE id = $3",
            )
            .bind(&error)
            .bind(cost_per_hour)
            .bind(job)
            .uncached_if_null(cost_per_hour.is_none())
            .execute(&mut *tx)
            .await?;
            add_cost_to_project(&mut tx, job).await?;
        }
        end_token(&mut tx, job).await?;
        expired.push((job, Expired { uid, status }));
    }
    // Events last: on PostgreSQL appending one holds the events lock to commit, and taking
    // row locks (a project's, for its cost) after it could deadlock with a writer that holds
    // that row and waits for the events lock.
    for (job, done) in &expired {
        status_event(&mut tx, *job, done.status, None).await?;
    }
    tx.commit().await?;
    Ok(expired.into_iter().map(|(_, done)| done).collect())
}

/// Puts a job back in the queue for another try, keeping its output so far.
async fn requeue(tx: &mut Tx, job: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = $1, retries_left = retries_left - 1, runner_id = NULL,
            runner = NULL, gpu_ids = NULL, lease_expires_ms = NULL, started_ms = NULL,
            error = $2
         WHERE id = $3",
    )
    .bind(JobStatus::Queued.code())
    .bind(error)
    .bind(job)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Appends the `job.status` event live views follow.
async fn status_event(
    tx: &mut Tx,
    job: i64,
    status: JobStatus,
    runner: Option<&str>,
) -> sqlx::Result<()> {
    let project: i64 = sqlx::query_scalar("SELECT project_id FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&mut **tx)
        .await?;
    let payload = json!({ "status": status.as_str(), "runner": runner });
    events::append(tx, "job.status", Some(project), Some(job), &payload).await?;
    Ok(())
}

/// The latest job a spec of this name made in `project`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SpecJob {
    /// Database id.
    pub id: i64,
    /// Global id.
    pub uid: String,
    /// Number within its project.
    pub number: i64,
    /// Hash of the spec it was made from.
    pub spec_hash: String,
    /// Status code.
    pub status: i64,
}

/// The newest job that the spec `name` made in `project`, if any.
pub async fn latest_for_spec(db: &Db, project: i64, name: &str) -> sqlx::Result<Option<SpecJob>> {
    sqlx::query_as::<_, SpecJob>(
        "SELECT id, uid, number, spec_hash, status FROM jobs
         WHERE project_id = $1 AND spec_name = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(project)
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Queues a new job from the spec of job `job` (same plan, parameters, resources and labels),
/// created by `user`; `None` if `job` was not run by millrace.
pub async fn rerun(tx: &mut Tx, job: i64, user: i64) -> sqlx::Result<Option<jobs::JobRef>> {
    #[derive(sqlx::FromRow)]
    struct Source {
        project_id: i64,
        name: String,
        command: String,
        params: String,
        gpus: i64,
        gpu_memory_mib: Option<i64>,
        gpu_model: Option<String>,
        spec_name: Option<String>,
        spec_hash: Option<String>,
        spec: Option<String>,
        retries: i64,
    }
    let source: Source = sqlx::query_as(
        "SELECT project_id, name, command, params, gpus, gpu_memory_mib, gpu_model, spec_name,
            spec_hash, spec, retries
         FROM jobs WHERE id = $1",
    )
    .bind(job)
    .fetch_one(&mut **tx)
    .await?;
    let (Some(spec_name), Some(spec_hash), Some(spec_json)) =
        (source.spec_name, source.spec_hash, source.spec)
    else {
        return Ok(None);
    };
    let labels: Vec<String> =
        sqlx::query_scalar("SELECT label FROM job_labels WHERE job_id = $1 ORDER BY label")
            .bind(job)
            .fetch_all(&mut **tx)
            .await?;
    let new = jobs::NewJob {
        name: source.name,
        command: source.command,
        params: serde_json::from_str(&source.params).unwrap_or_default(),
        gpus: source.gpus,
        created_by: Some(user),
        run: Some(jobs::RunSpec {
            spec_name,
            spec_hash,
            spec_json,
            labels,
            gpu_memory_mib: source.gpu_memory_mib,
            gpu_model: source.gpu_model,
            retries: source.retries,
        }),
        ..jobs::NewJob::default()
    };
    Ok(Some(jobs::create(tx, source.project_id, &new).await?))
}

/// Where a run is or how it ended, beyond its status.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Ending {
    /// The process's exit code.
    pub exit_code: Option<i64>,
    /// Why it failed or was lost.
    pub error: Option<String>,
    /// The runner it ran (or runs) on.
    pub runner: Option<String>,
    /// The GPU ids it was given, comma-separated.
    pub gpu_ids: Option<String>,
    /// What its runner's GPUs are, as the runner registered them (JSON).
    pub runner_gpus: Option<String>,
    /// The least memory it asked of each GPU, MiB.
    pub gpu_memory_mib: Option<i64>,
    /// The GPU model it asked for.
    pub gpu_model: Option<String>,
}

impl Ending {
    /// The GPUs the job was given, as its runner described them; none when it did not.
    pub fn gpus(&self) -> Vec<Gpu> {
        let described = self
            .runner_gpus
            .as_deref()
            .map(super::runners::gpu_models_of)
            .unwrap_or_default();
        let given = self.gpu_ids.as_deref().unwrap_or_default().split(',');
        given
            .filter_map(|id| described.iter().find(|gpu| gpu.id == id).cloned())
            .collect()
    }
}

/// The exit code, error, runner and GPUs (asked for and given) of `job`.
pub async fn ending(db: &Db, job: i64) -> sqlx::Result<Ending> {
    sqlx::query_as::<_, Ending>(
        "SELECT j.exit_code, j.error, j.runner, j.gpu_ids, r.gpu_models AS runner_gpus,
            j.gpu_memory_mib, j.gpu_model
         FROM jobs j LEFT JOIN runners r ON r.id = j.runner_id WHERE j.id = $1",
    )
    .bind(job)
    .fetch_optional(db.pool())
    .await
    .map(Option::unwrap_or_default)
}

/// Whether millrace runs `job` (it came from a spec), rather than tracking it from elsewhere.
pub async fn is_run_here(db: &Db, job: i64) -> sqlx::Result<bool> {
    let spec: Option<Option<String>> =
        sqlx::query_scalar("SELECT spec_name FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_optional(db.pool())
            .await?;
    Ok(spec.flatten().is_some())
}

/// The names of the environment variables the spec of `job` sets (never their values), in
/// name order; none for a job millrace does not run.
pub async fn env_names(db: &Db, job: i64) -> sqlx::Result<Vec<String>> {
    let spec: Option<Option<String>> = sqlx::query_scalar("SELECT spec FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_optional(db.pool())
        .await?;
    let spec: serde_json::Value = spec
        .flatten()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let mut names: Vec<String> = spec["env"]
        .as_object()
        .map(|env| env.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    Ok(names)
}

/// Prices of a GPU-hour by runner label, from the server's configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuPrices(pub BTreeMap<String, f64>);

impl GpuPrices {
    /// The label that prices every runner whose labels have no price of their own.
    pub const DEFAULT: &'static str = "default";

    /// The price for a runner with `labels`: the highest price among them, else the default.
    pub fn for_labels(&self, labels: &[String]) -> Option<f64> {
        labels
            .iter()
            .filter_map(|label| self.0.get(label).copied())
            .reduce(f64::max)
            .or_else(|| self.0.get(Self::DEFAULT).copied())
    }
}

/// Queued jobs by each runner label they need, `""` counting jobs that need none: where the
/// queue waits for runners. A job needing two labels counts under both.
pub async fn depth_by_label(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT COALESCE(l.label, ''), COUNT(*) FROM jobs j
         LEFT JOIN job_labels l ON l.job_id = j.id
         WHERE j.status = 0 AND j.spec IS NOT NULL
         GROUP BY l.label ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
}

#[cfg(test)]
mod tests;
