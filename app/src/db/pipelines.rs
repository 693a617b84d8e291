//! Queries on `pipeline_runs` and `pipeline_steps`: runs of pipeline specs and their steps,
//! each a job or a sweep. Every change appends a `pipeline` event of its project.

use super::{now_ms, Db, Tx};
use serde_json::json;

/// Where a pipeline run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Some step waits or runs.
    Running,
    /// Every step succeeded or was cached.
    Succeeded,
    /// Every step ended and some failed (or were skipped for it).
    Failed,
    /// Cancelled by a person.
    Cancelled,
}

/// Where one step instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Waits for the steps it needs.
    Waiting,
    /// Its job (or sweep) was started and has not ended.
    Running,
    /// Its job succeeded (or its sweep finished with a best trial).
    Succeeded,
    /// Its job failed, was lost or cancelled, or its sweep failed.
    Failed,
    /// A step it needs failed: it will not run.
    Skipped,
    /// An earlier run's job of the same definition and inputs stands for it.
    Cached,
    /// The run was cancelled before it ended.
    Cancelled,
}

text_enum!(RunState {
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Cancelled = "cancelled",
});
text_enum!(StepState {
    Waiting = "waiting",
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Skipped = "skipped",
    Cached = "cached",
    Cancelled = "cancelled",
});

impl StepState {
    /// Whether the steps that need it may start: its outputs exist.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Succeeded | Self::Cached)
    }

    /// Whether it will never change again.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Waiting | Self::Running)
    }
}

/// Everything a new run is created with.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// Its project.
    pub project: i64,
    /// The pipeline's name.
    pub name: String,
    /// The checked spec as JSON.
    pub spec: String,
    /// Its code snapshots by `code` directory, a JSON object.
    pub snapshots: String,
    /// Hash of spec and snapshots: equal hashes mean an unchanged spec.
    pub spec_hash: String,
    /// The run whose steps upstream of `from_step` it reuses.
    pub rerun_of: Option<i64>,
    /// The step a rerun runs again from.
    pub from_step: Option<String>,
    /// Who started it; its jobs are theirs.
    pub created_by: Option<i64>,
}

/// One step instance of a new run: all wait at first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewStep {
    /// The step's name.
    pub step: String,
    /// Its `for_each` index, 0 for a step without.
    pub instance: i64,
    /// Hash of the step as written.
    pub definition: String,
}

/// A pipeline run as stored, with how far its steps got.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Run {
    /// Database id, the run's public handle.
    pub id: i64,
    /// Its project's id.
    pub project_id: i64,
    /// Its project as `owner/name`.
    pub project: String,
    /// The pipeline's name.
    pub name: String,
    /// The checked spec as JSON.
    pub spec: String,
    /// Code snapshots by `code` directory, a JSON object.
    pub snapshots: String,
    /// Hash of spec and snapshots.
    pub spec_hash: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub state: String,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// The run a rerun reuses.
    pub rerun_of: Option<i64>,
    /// The step a rerun runs again from.
    pub from_step: Option<String>,
    /// Who started it.
    pub created_by: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// Its step instances.
    pub step_count: i64,
    /// Those that ended, however.
    pub ended_count: i64,
    /// What the jobs it ran cost (cached steps cost nothing again), US dollars.
    pub cost_usd: Option<f64>,
}

impl Run {
    /// Its state; a state this server does not know reads as failed.
    pub fn state(&self) -> RunState {
        RunState::parse(&self.state).unwrap_or(RunState::Failed)
    }
}

const SELECT_RUN: &str = "SELECT r.id, r.project_id, u.name || '/' || p.name AS project, r.name,
        r.spec, r.snapshots, r.spec_hash, r.state, r.reason, r.rerun_of, r.from_step,
        r.created_by, r.created_ms, r.finished_ms,
        (SELECT COUNT(*) FROM pipeline_steps s WHERE s.run_id = r.id) AS step_count,
        (SELECT COUNT(*) FROM pipeline_steps s WHERE s.run_id = r.id
            AND s.state NOT IN ('waiting', 'running')) AS ended_count,
        (SELECT SUM(j.cost_usd) FROM pipeline_steps s JOIN jobs j ON j.id = s.job_id
            WHERE s.run_id = r.id AND s.state <> 'cached') AS cost_usd
     FROM pipeline_runs r JOIN projects p ON p.id = r.project_id JOIN users u ON u.id = p.owner_id";

/// One step instance with its job's status and times.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StepRow {
    /// The step's name.
    pub step: String,
    /// Its `for_each` index.
    pub instance: i64,
    /// See [`StepState`].
    pub state: String,
    /// Hash of the step as written.
    pub definition: String,
    /// Hash of what it started with, once started (or cached).
    pub cache_key: Option<String>,
    /// Its job (for a cached step, the earlier run's).
    pub job_id: Option<i64>,
    /// That job's global id.
    pub job_uid: Option<String>,
    /// That job's number in the project.
    pub job_number: Option<i64>,
    /// That job's status code, see `JobStatus::code`.
    pub job_status: Option<i64>,
    /// That job's exit code.
    pub exit_code: Option<i64>,
    /// Why that job failed.
    pub job_error: Option<String>,
    /// That job's run time so far, milliseconds.
    pub duration_ms: Option<i64>,
    /// That job's cost.
    pub cost_usd: Option<f64>,
    /// Its sweep, for a sweep step.
    pub sweep_id: Option<i64>,
    /// That sweep's state.
    pub sweep_state: Option<String>,
    /// Why it failed, was skipped or cancelled.
    pub reason: Option<String>,
    /// When it left `waiting`.
    pub started_ms: Option<i64>,
    /// When it ended.
    pub finished_ms: Option<i64>,
}

impl StepRow {
    /// Its state; a state this server does not know reads as failed.
    pub fn state(&self) -> StepState {
        StepState::parse(&self.state).unwrap_or(StepState::Failed)
    }
}

/// Creates a running run with its steps, all waiting; returns its id.
pub async fn create(tx: &mut Tx, run: &NewRun, steps: &[NewStep]) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pipeline_runs (project_id, name, spec, snapshots, spec_hash, state,
            rerun_of, from_step, created_by, created_ms)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9) RETURNING id",
    )
    .bind(run.project)
    .bind(&run.name)
    .bind(&run.spec)
    .bind(&run.snapshots)
    .bind(&run.spec_hash)
    .bind(run.rerun_of)
    .bind(run.from_step.as_deref())
    .bind(run.created_by)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    // Many rows a statement (a 1,000-step fan-out is one apply), within SQLite's bind limit.
    for chunk in steps.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO pipeline_steps (run_id, step, instance, state, definition) VALUES ",
        );
        for i in 0..chunk.len() {
            let at = i * 3;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, ${}, ${}, 'waiting', ${})",
                at + 2,
                at + 3,
                at + 4
            ));
        }
        let mut query = sqlx::query(&sql).bind(id);
        for step in chunk {
            query = query
                .bind(&step.step)
                .bind(step.instance)
                .bind(&step.definition);
        }
        query.execute(&mut **tx).await?;
    }
    changed(tx, id).await?;
    Ok(id)
}

/// The run `id`, if it exists (callers check that the reader may see its project).
pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Run>> {
    sqlx::query_as::<_, Run>(&format!("{SELECT_RUN} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

/// The newest run of pipeline `name` in `project`, which `apply` compares a spec with.
pub async fn latest_named(db: &Db, project: i64, name: &str) -> sqlx::Result<Option<Run>> {
    sqlx::query_as::<_, Run>(&format!(
        "{SELECT_RUN} WHERE r.project_id = $1 AND r.name = $2 ORDER BY r.id DESC LIMIT 1"
    ))
    .bind(project)
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Up to `limit` runs of `project`, newest first.
pub async fn list_for_project(db: &Db, project: i64, limit: i64) -> sqlx::Result<Vec<Run>> {
    sqlx::query_as::<_, Run>(&format!(
        "{SELECT_RUN} WHERE r.project_id = $1 ORDER BY r.id DESC LIMIT $2"
    ))
    .bind(project)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// The ids of the running runs, oldest first: the driver's work list.
pub async fn running(db: &Db) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM pipeline_runs WHERE state = 'running' ORDER BY id")
        .fetch_all(db.pool())
        .await
}

/// The step instances of run `id` with their jobs, in step then instance order.
pub async fn steps(db: &Db, run: i64) -> sqlx::Result<Vec<StepRow>> {
    sqlx::query_as::<_, StepRow>(
        "SELECT s.step, s.instance, s.state, s.definition, s.cache_key, s.job_id,
            j.uid AS job_uid, j.number AS job_number, j.status AS job_status, j.exit_code,
            j.error AS job_error, j.duration_ms, j.cost_usd, s.sweep_id,
            w.state AS sweep_state, s.reason, s.started_ms, s.finished_ms
         FROM pipeline_steps s
         LEFT JOIN jobs j ON j.id = s.job_id
         LEFT JOIN sweeps w ON w.id = s.sweep_id
         WHERE s.run_id = $1 ORDER BY s.step, s.instance",
    )
    .bind(run)
    .fetch_all(db.pool())
    .await
}

/// How a waiting step instance leaves `waiting`.
#[derive(Clone, Debug, PartialEq)]
pub struct Start<'a> {
    /// `running` (its job or sweep was just made), `cached`, or `skipped`.
    pub state: StepState,
    /// What it started with, hashed.
    pub cache_key: Option<&'a str>,
    /// Its job: new, or an earlier run's for a cached step.
    pub job: Option<i64>,
    /// Its sweep, for a sweep step.
    pub sweep: Option<i64>,
    /// Why it was skipped.
    pub reason: Option<&'a str>,
}

/// Moves a waiting step instance on, in the transaction that made its job or sweep; false
/// (and the caller rolls back) when it no longer waits, so no step ever starts twice.
pub async fn start(
    tx: &mut Tx,
    run: i64,
    step: &str,
    instance: i64,
    start: &Start<'_>,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let finished = start.state.is_final().then_some(now);
    let done = sqlx::query(
        "UPDATE pipeline_steps SET state = $1, cache_key = $2, job_id = $3, sweep_id = $4,
            reason = $5, started_ms = $6, finished_ms = $7
         WHERE run_id = $8 AND step = $9 AND instance = $10 AND state = 'waiting'",
    )
    .bind(start.state.as_str())
    .bind(start.cache_key)
    .bind(start.job)
    .bind(start.sweep)
    .bind(start.reason)
    .bind(now)
    .bind(finished)
    .bind(run)
    .bind(step)
    .bind(instance)
    .execute(&mut **tx)
    .await?;
    let moved = done.rows_affected() == 1;
    if moved {
        changed(tx, run).await?;
    }
    Ok(moved)
}

/// Ends a running step instance as `state` (`succeeded` or `failed`) with `reason`; false if
/// it was no longer running.
pub async fn end_step(
    tx: &mut Tx,
    run: i64,
    step: &str,
    instance: i64,
    state: StepState,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE pipeline_steps SET state = $1, reason = $2, finished_ms = $3
         WHERE run_id = $4 AND step = $5 AND instance = $6 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(now_ms())
    .bind(run)
    .bind(step)
    .bind(instance)
    .execute(&mut **tx)
    .await?;
    let ended = done.rows_affected() == 1;
    if ended {
        changed(tx, run).await?;
    }
    Ok(ended)
}

/// Ends a running run with `state` and `reason`; steps still waiting or running become
/// `cancelled` with the same reason (their jobs are the caller's to cancel). False if the run
/// was no longer running.
pub async fn end(
    tx: &mut Tx,
    run: i64,
    state: RunState,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE pipeline_runs SET state = $1, reason = $2, finished_ms = $3
         WHERE id = $4 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(now)
    .bind(run)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE pipeline_steps SET state = 'cancelled', reason = $1, finished_ms = $2
         WHERE run_id = $3 AND state IN ('waiting', 'running')",
    )
    .bind(reason)
    .bind(now)
    .bind(run)
    .execute(&mut **tx)
    .await?;
    changed(tx, run).await?;
    Ok(true)
}

/// What a cached step instance reuses: an earlier run's job (id and global id) or sweep.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Reused {
    /// The job's database id.
    pub job_id: Option<i64>,
    /// The job's global id.
    pub job_uid: Option<String>,
    /// The sweep, for a sweep step.
    pub sweep_id: Option<i64>,
}

/// The job or sweep of an earlier run of pipeline `name` whose step instance succeeded from
/// the same `cache_key`, the newest: what a cached step reuses. A job or sweep deleted since
/// is no hit.
pub async fn cached(
    db: &Db,
    project: i64,
    name: &str,
    cache_key: &str,
) -> sqlx::Result<Option<Reused>> {
    sqlx::query_as(
        "SELECT s.job_id, j.uid AS job_uid, s.sweep_id
         FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id
         LEFT JOIN jobs j ON j.id = s.job_id
         WHERE s.cache_key = $1 AND s.state IN ('succeeded', 'cached')
            AND (s.job_id IS NOT NULL OR s.sweep_id IS NOT NULL)
            AND r.project_id = $2 AND r.name = $3
         ORDER BY r.id DESC LIMIT 1",
    )
    .bind(cache_key)
    .bind(project)
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Tells live views that run `run` changed (a `pipeline` event of its project), in the
/// writer's transaction.
async fn changed(tx: &mut Tx, run: i64) -> sqlx::Result<()> {
    let project: Option<i64> =
        sqlx::query_scalar("SELECT project_id FROM pipeline_runs WHERE id = $1")
            .bind(run)
            .fetch_optional(&mut **tx)
            .await?;
    super::events::append(tx, "pipeline", project, None, &json!({ "run": run }))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests;
