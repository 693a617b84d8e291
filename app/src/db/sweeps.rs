//! Queries on `sweeps` and `sweep_trials`: hyperparameter searches and their trials.

use super::sql::BindsOptionalFloat;
use super::{now_ms, Db, Tx};

/// Where a sweep is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepState {
    /// Queueing trials and watching them.
    Running,
    /// Every trial of its budget (or its whole grid) ended.
    Finished,
    /// Stopped after too many consecutive failed trials.
    Failed,
    /// Cancelled by a person.
    Stopped,
}

/// Where a trial is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialState {
    /// Its job waits for a runner.
    Queued,
    /// Its job runs.
    Running,
    /// Its job succeeded and reported the objective.
    Completed,
    /// Early stopping cancelled it.
    Stopped,
    /// Its job failed, was lost or cancelled, or never reported the objective.
    Failed,
}

text_enum!(SweepState { Running = "running", Finished = "finished", Failed = "failed", Stopped = "stopped" });
text_enum!(TrialState {
    Queued = "queued",
    Running = "running",
    Completed = "completed",
    Stopped = "stopped",
    Failed = "failed",
});

impl TrialState {
    /// Whether its job may still run: it holds one of the sweep's parallel slots.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// Everything a new sweep is created with.
#[derive(Clone, Debug, Default)]
pub struct NewSweep {
    /// Its project.
    pub project: i64,
    /// The spec's name.
    pub name: String,
    /// The checked spec as JSON.
    pub spec: String,
    /// Hash of spec and snapshot: equal hashes mean an unchanged spec.
    pub spec_hash: String,
    /// SHA-256 of the code snapshot its trials run in, if any.
    pub snapshot: Option<String>,
    /// Seed of its suggestions.
    pub seed: i64,
    /// The sweep whose trials it learns from.
    pub cloned_from: Option<i64>,
    /// The user who started it; its trial jobs are theirs.
    pub created_by: Option<i64>,
    /// Other jobs' artifacts each trial fetches first (a pipeline step's inputs), a JSON list.
    pub inputs: String,
    /// Tags each trial job carries, a JSON list of `[key, value]`.
    pub tags: Vec<(String, String)>,
}

/// A sweep as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Sweep {
    /// Database id, the sweep's public handle.
    pub id: i64,
    /// Its project's id.
    pub project_id: i64,
    /// Its project as `owner/name`.
    pub project: String,
    /// The spec's name.
    pub name: String,
    /// The checked spec as JSON.
    pub spec: String,
    /// Hash of spec and snapshot.
    pub spec_hash: String,
    /// The code snapshot its trials run in.
    pub snapshot: Option<String>,
    /// Seed of its suggestions.
    pub seed: i64,
    /// `running`, `finished`, `failed` or `stopped`.
    pub state: String,
    /// Why it failed or stopped.
    pub reason: Option<String>,
    /// The sweep whose trials it learns from.
    pub cloned_from: Option<i64>,
    /// Who started it.
    pub created_by: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// Trials queued so far.
    pub trial_count: i64,
    /// Other jobs' artifacts each trial fetches first, a JSON list.
    pub inputs: String,
    /// Tags each trial job carries, a JSON list of `[key, value]`.
    pub tags: String,
}

const SELECT_SWEEP: &str = "SELECT s.id, s.project_id, u.name || '/' || p.name AS project, s.name,
        s.spec, s.spec_hash, s.snapshot, s.seed, s.state, s.reason, s.cloned_from, s.created_by,
        s.created_ms, s.finished_ms,
        (SELECT COUNT(*) FROM sweep_trials t WHERE t.sweep_id = s.id) AS trial_count,
        s.inputs, s.tags
     FROM sweeps s JOIN projects p ON p.id = s.project_id JOIN users u ON u.id = p.owner_id";

/// One trial with its job's status and ending.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Trial {
    /// Its place in the sweep, from 0.
    pub trial_index: i64,
    /// Its job's database id.
    pub job_id: i64,
    /// Its job's global id.
    pub job_uid: String,
    /// Its job's number in the project.
    pub job_number: i64,
    /// Its job's status code, see `JobStatus::code`.
    pub job_status: i64,
    /// Its job's exit code, once it exited.
    pub exit_code: Option<i64>,
    /// Why its job failed, for people.
    pub job_error: Option<String>,
    /// The parameters it runs with, a JSON object.
    pub params: String,
    /// `queued`, `running`, `completed`, `stopped` or `failed`.
    pub state: String,
    /// The objective's result (completed) or its last value (stopped).
    pub value: Option<f64>,
    /// The step of `value`.
    pub step: Option<i64>,
    /// Why it was stopped or failed.
    pub reason: Option<String>,
    /// The last step early stopping judged.
    pub judged_to: Option<i64>,
    /// When it ended.
    pub finished_ms: Option<i64>,
}

impl Trial {
    /// Its state; a state this server does not know reads as failed.
    pub fn state(&self) -> TrialState {
        TrialState::parse(&self.state).unwrap_or(TrialState::Failed)
    }
}

/// How a trial ended, as [`end_trial`] records it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialEnd {
    /// `completed`, `stopped` or `failed`.
    pub state: TrialState,
    /// The objective's result or last value.
    pub value: Option<f64>,
    /// The step of `value`.
    pub step: Option<i64>,
    /// Why it stopped or failed.
    pub reason: Option<String>,
}

/// Creates a running sweep; returns its id.
pub async fn create(tx: &mut Tx, sweep: &NewSweep) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO sweeps (project_id, name, spec, spec_hash, snapshot, seed, state,
            cloned_from, created_by, created_ms, inputs, tags)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(sweep.project)
    .bind(&sweep.name)
    .bind(&sweep.spec)
    .bind(&sweep.spec_hash)
    .bind(sweep.snapshot.as_deref())
    .bind(sweep.seed)
    .bind(sweep.cloned_from)
    .bind(sweep.created_by)
    .bind(now_ms())
    .bind(if sweep.inputs.is_empty() {
        "[]"
    } else {
        sweep.inputs.as_str()
    })
    .bind(serde_json::to_string(&sweep.tags).expect("tags serialise"))
    .fetch_one(&mut **tx)
    .await
}

/// The sweep `id`, if it exists (callers check that the reader may see its project).
pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Sweep>> {
    sqlx::query_as::<_, Sweep>(&format!("{SELECT_SWEEP} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

/// The newest sweep of `project` named `name`, which `apply` compares a spec with.
pub async fn latest_named(db: &Db, project: i64, name: &str) -> sqlx::Result<Option<Sweep>> {
    sqlx::query_as::<_, Sweep>(&format!(
        "{SELECT_SWEEP} WHERE s.project_id = $1 AND s.name = $2 ORDER BY s.id DESC LIMIT 1"
    ))
    .bind(project)
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Up to `limit` sweeps of `project`, newest first.
pub async fn list_for_project(db: &Db, project: i64, limit: i64) -> sqlx::Result<Vec<Sweep>> {
    sqlx::query_as::<_, Sweep>(&format!(
        "{SELECT_SWEEP} WHERE s.project_id = $1 ORDER BY s.id DESC LIMIT $2"
    ))
    .bind(project)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// How far each sweep of `project` got: (sweep id, trials ended, smallest and largest result
/// of a completed trial), for the sweeps list.
pub async fn outcomes_for_project(
    db: &Db,
    project: i64,
) -> sqlx::Result<Vec<(i64, i64, Option<f64>, Option<f64>)>> {
    sqlx::query_as(
        "SELECT t.sweep_id,
            SUM(CASE WHEN t.state IN ('queued', 'running') THEN 0 ELSE 1 END) AS ended,
            MIN(CASE WHEN t.state = 'completed' THEN t.value END) AS low,
            MAX(CASE WHEN t.state = 'completed' THEN t.value END) AS high
         FROM sweep_trials t JOIN sweeps s ON s.id = t.sweep_id
         WHERE s.project_id = $1 GROUP BY t.sweep_id ORDER BY t.sweep_id",
    )
    .bind(project)
    .fetch_all(db.pool())
    .await
}

/// The smallest and largest result of a completed trial of `sweep`.
pub async fn outcomes_for_sweep(db: &Db, sweep: i64) -> sqlx::Result<(Option<f64>, Option<f64>)> {
    sqlx::query_as(
        "SELECT MIN(value), MAX(value) FROM sweep_trials WHERE sweep_id = $1 AND state = 'completed'",
    )
    .bind(sweep)
    .fetch_one(db.pool())
    .await
}

/// The ids of the running sweeps, oldest first: the scheduler's work list.
pub async fn running(db: &Db) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM sweeps WHERE state = 'running' ORDER BY id")
        .fetch_all(db.pool())
        .await
}

/// Ends a running sweep with `state` and `reason`; false if it was no longer running.
pub async fn end(
    tx: &mut Tx,
    sweep: i64,
    state: SweepState,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE sweeps SET state = $1, reason = $2, finished_ms = $3
         WHERE id = $4 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(now_ms())
    .bind(sweep)
    .execute(&mut **tx)
    .await?;
    let ended = done.rows_affected() == 1;
    if ended {
        changed(tx, sweep).await?;
    }
    Ok(ended)
}

/// Tells live views that `sweep` changed (a `sweep` event of its project), in the writer's
/// transaction: a trial's result or the sweep's end is recorded after its job's own event, and
/// without this nothing would tell an open sweep view.
async fn changed(tx: &mut Tx, sweep: i64) -> sqlx::Result<()> {
    let project: Option<i64> = sqlx::query_scalar("SELECT project_id FROM sweeps WHERE id = $1")
        .bind(sweep)
        .fetch_optional(&mut **tx)
        .await?;
    super::events::append(
        tx,
        "sweep",
        project,
        None,
        &serde_json::json!({ "sweep": sweep }),
    )
    .await
    .map(|_| ())
}

/// Ends a running sweep with `state` and `reason`, and with it each of its active trials:
/// marked failed with `reason`, their jobs cancelled as the API cancels a job. False (and
/// nothing changed) if the sweep was no longer running.
pub async fn end_with_trials(
    tx: &mut Tx,
    sweep: i64,
    state: SweepState,
    reason: &str,
) -> sqlx::Result<bool> {
    if !end(tx, sweep, state, Some(reason)).await? {
        return Ok(false);
    }
    let active: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT trial_index, job_id FROM sweep_trials
         WHERE sweep_id = $1 AND state IN ('queued', 'running') ORDER BY trial_index",
    )
    .bind(sweep)
    .fetch_all(&mut **tx)
    .await?;
    let ended = TrialEnd {
        state: TrialState::Failed,
        value: None,
        step: None,
        reason: Some(reason.to_owned()),
    };
    for (index, job) in active {
        end_trial(tx, sweep, index, &ended).await?;
        super::queue::cancel(tx, job).await?;
    }
    Ok(true)
}

/// The trials of `sweep` in index order, with their jobs.
pub async fn trials(db: &Db, sweep: i64) -> sqlx::Result<Vec<Trial>> {
    sqlx::query_as::<_, Trial>(
        "SELECT t.trial_index, t.job_id, j.uid AS job_uid, j.number AS job_number,
            j.status AS job_status, j.exit_code, j.error AS job_error, t.params, t.state,
            t.value, t.step, t.reason, t.judged_to, t.finished_ms
         FROM sweep_trials t JOIN jobs j ON j.id = t.job_id
         WHERE t.sweep_id = $1 ORDER BY t.trial_index",
    )
    .bind(sweep)
    .fetch_all(db.pool())
    .await
}

/// Records trial `index` of `sweep`, queued as `job`, if the sweep still runs (false if not:
/// the caller rolls back, and so drops the job). Fails with a unique violation if the index is
/// taken, which rolls back the caller's transaction and its job too.
pub async fn add_trial(
    tx: &mut Tx,
    sweep: i64,
    index: i64,
    job: i64,
    params: &serde_json::Map<String, serde_json::Value>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO sweep_trials (sweep_id, trial_index, job_id, params, state)
         SELECT $1, $2, $3, $4, 'queued' WHERE EXISTS
            (SELECT 1 FROM sweeps WHERE id = $1 AND state = 'running')",
    )
    .bind(sweep)
    .bind(index)
    .bind(job)
    .bind(serde_json::Value::Object(params.clone()).to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an active trial running (its job started); false if it was not queued.
pub async fn mark_running(db: &Db, sweep: i64, index: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE sweep_trials SET state = 'running'
         WHERE sweep_id = $1 AND trial_index = $2 AND state = 'queued'",
    )
    .bind(sweep)
    .bind(index)
    .execute(&mut *tx)
    .await?;
    let marked = done.rows_affected() == 1;
    if marked {
        changed(&mut tx, sweep).await?;
    }
    tx.commit().await?;
    Ok(marked)
}

/// Ends an active trial as `end` says; false if it had already ended, so two schedulers
/// racing on one trial record it once.
pub async fn end_trial(tx: &mut Tx, sweep: i64, index: i64, end: &TrialEnd) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE sweep_trials SET state = $1, value = $2, step = $3, reason = $4, finished_ms = $5
         WHERE sweep_id = $6 AND trial_index = $7 AND state IN ('queued', 'running')",
    )
    .bind(end.state.as_str())
    .bind(end.value)
    .bind(end.step)
    .bind(end.reason.as_deref())
    .bind(now_ms())
    .bind(sweep)
    .bind(index)
    .uncached_if_null(end.value.is_none())
    .execute(&mut **tx)
    .await?;
    let ended = done.rows_affected() == 1;
    if ended {
        changed(tx, sweep).await?;
    }
    Ok(ended)
}

/// Remembers that early stopping judged trial `index` up to `step`.
pub async fn set_judged_to(db: &Db, sweep: i64, index: i64, step: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sweep_trials SET judged_to = $1 WHERE sweep_id = $2 AND trial_index = $3")
        .bind(step)
        .bind(sweep)
        .bind(index)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// The running trials of `sweep` whose metric `key` reached a step past the one early stopping
/// last judged, by index: read from the series' summaries, so a pass with nothing new to judge
/// costs no points.
pub async fn unjudged(db: &Db, sweep: i64, key: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT t.trial_index FROM sweep_trials t
         JOIN metric_series ms ON ms.job_id = t.job_id AND ms.key = $2
         WHERE t.sweep_id = $1 AND t.state = 'running' AND ms.last_step IS NOT NULL
           AND (t.judged_to IS NULL OR ms.last_step > t.judged_to)
         ORDER BY t.trial_index",
    )
    .bind(sweep)
    .bind(key)
    .fetch_all(db.pool())
    .await
}

/// Metric `key` of every trial of `sweep`, as (trial index, step, value) in index then step
/// order; a NaN value reads as NaN.
pub async fn curves(db: &Db, sweep: i64, key: &str) -> sqlx::Result<Vec<(i64, i64, f64)>> {
    let rows: Vec<(i64, i64, Option<f64>)> = sqlx::query_as(
        "SELECT t.trial_index, mp.step, mp.value
         FROM sweep_trials t
         JOIN metric_series ms ON ms.job_id = t.job_id AND ms.key = $2
         JOIN metric_points mp ON mp.series_id = ms.id
         WHERE t.sweep_id = $1 ORDER BY t.trial_index, mp.step, mp.seq",
    )
    .bind(sweep)
    .bind(key)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(index, step, value)| (index, step, value.unwrap_or(f64::NAN)))
        .collect())
}

#[cfg(test)]
mod tests;
