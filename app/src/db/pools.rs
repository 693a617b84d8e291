//! Queries on `pools`, `pool_machines` and `pool_changes`: the pools an administrator applied,
//! the machines the scheduler asked them for, and every change of those machines' states.

use super::{now_ms, Db, Tx};
use crate::runners::pool::{spent, Applied, MachineChange, MachineState, PoolSettings};
use std::collections::BTreeMap;

/// A pool as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Database id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// Its checked settings.
    pub settings: PoolSettings,
    /// Create commands that failed in a row.
    pub create_failures: i64,
    /// No machine is created before this time (milliseconds since the Unix epoch).
    pub next_create_ms: i64,
}

#[derive(sqlx::FromRow)]
struct PoolRow {
    id: i64,
    name: String,
    settings: String,
    create_failures: i64,
    next_create_ms: i64,
}

impl PoolRow {
    /// The pool, or `None` for settings this version cannot read (skipped, never fatal).
    fn pool(self) -> Option<Pool> {
        let settings = serde_json::from_str(&self.settings)
            .inspect_err(|error| tracing::warn!(pool = %self.name, %error, "unreadable pool"))
            .ok()?;
        Some(Pool {
            id: self.id,
            name: self.name,
            settings,
            create_failures: self.create_failures,
            next_create_ms: self.next_create_ms,
        })
    }
}

/// A machine a pool asked for, with what its runner holds now.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// Database id.
    pub id: i64,
    /// Its pool.
    pub pool_id: i64,
    /// Its name, also its runner's.
    pub name: String,
    /// Where it is in its life.
    pub state: MachineState,
    /// Its one-use runner token.
    pub token_id: Option<i64>,
    /// The runner that registered with that token.
    pub runner_id: Option<i64>,
    /// When it was asked for.
    pub requested_ms: i64,
    /// When it entered its state.
    pub state_ms: i64,
    /// Since when its runner has held no job, while it holds none.
    pub idle_ms: Option<i64>,
    /// When its delete command finished.
    pub ended_ms: Option<i64>,
    /// The state it ends in once its delete command has run.
    pub ending: Option<MachineState>,
    /// Jobs its runner holds now.
    pub active_jobs: i64,
    /// GPUs those jobs hold.
    pub busy_gpus: i64,
    /// When its runner was last heard from.
    pub last_seen_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct MachineRow {
    id: i64,
    pool_id: i64,
    name: String,
    state: String,
    token_id: Option<i64>,
    runner_id: Option<i64>,
    requested_ms: i64,
    state_ms: i64,
    idle_ms: Option<i64>,
    ended_ms: Option<i64>,
    ending: Option<String>,
    active_jobs: i64,
    busy_gpus: i64,
    last_seen_ms: Option<i64>,
}

impl From<MachineRow> for Machine {
    fn from(row: MachineRow) -> Self {
        Self {
            id: row.id,
            pool_id: row.pool_id,
            name: row.name,
            // Written only from `MachineState::as_str`; a row from a newer version reads as
            // failed, which the scheduler leaves alone.
            state: MachineState::parse(&row.state).unwrap_or(MachineState::Failed),
            token_id: row.token_id,
            runner_id: row.runner_id,
            requested_ms: row.requested_ms,
            state_ms: row.state_ms,
            idle_ms: row.idle_ms,
            ended_ms: row.ended_ms,
            ending: row.ending.as_deref().and_then(MachineState::parse),
            active_jobs: row.active_jobs,
            busy_gpus: row.busy_gpus,
            last_seen_ms: row.last_seen_ms,
        }
    }
}

/// The columns of [`MachineRow`], from machines `m` with their runner's load: the leases are
/// summed once per query (through the index of leased jobs), not once per machine.
const SELECT_MACHINE: &str = "SELECT m.id, m.pool_id, m.name, m.state, m.token_id, m.runner_id,
        m.requested_ms, m.state_ms, m.idle_ms, m.ended_ms, m.ending,
        COALESCE(l.jobs, 0) AS active_jobs, COALESCE(l.gpus, 0) AS busy_gpus, r.last_seen_ms
     FROM pool_machines m LEFT JOIN runners r ON r.id = m.runner_id
     LEFT JOIN (SELECT runner_id, COUNT(*) AS jobs, CAST(SUM(gpus) AS BIGINT) AS gpus
                FROM jobs WHERE lease_expires_ms IS NOT NULL GROUP BY runner_id) l
       ON l.runner_id = m.runner_id";

/// Creates pool `name` with `settings`, or gives the pool of that name these settings.
pub async fn apply(db: &Db, name: &str, settings: &PoolSettings) -> sqlx::Result<Applied> {
    let text = serde_json::to_string(settings).expect("settings serialise");
    let mut tx = db.begin().await?;
    let old: Option<String> = sqlx::query_scalar("SELECT settings FROM pools WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let now = now_ms();
    let applied = match old {
        None => {
            sqlx::query(
                "INSERT INTO pools (name, settings, created_ms, updated_ms)
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(name)
            .bind(&text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Applied::Created
        }
        Some(old) if serde_json::from_str::<PoolSettings>(&old).ok().as_ref() == Some(settings) => {
            Applied::Unchanged
        }
        Some(_) => {
            // New settings are a new start: a create command that failed before may work now.
            sqlx::query(
                "UPDATE pools SET settings = $1, updated_ms = $2, create_failures = 0,
                    next_create_ms = 0
                 WHERE name = $3",
            )
            .bind(&text)
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?;
            Applied::Changed
        }
    };
    tx.commit().await?;
    Ok(applied)
}

/// Every pool, by name.
pub async fn all(db: &Db) -> sqlx::Result<Vec<Pool>> {
    let rows = sqlx::query_as::<_, PoolRow>(
        "SELECT id, name, settings, create_failures, next_create_ms FROM pools ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(PoolRow::pool).collect())
}

/// Every machine that may still exist (its delete command has not finished), oldest first.
pub async fn live_machines(db: &Db) -> sqlx::Result<Vec<Machine>> {
    let rows = sqlx::query_as::<_, MachineRow>(&format!(
        "{SELECT_MACHINE} WHERE m.ended_ms IS NULL ORDER BY m.id"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Machine::from).collect())
}

/// The lives of pool `pool`'s machines that overlap the time since `since_ms`: (requested,
/// ended) in milliseconds, `None` for a machine that may still exist.
pub async fn lives_since(
    db: &Db,
    pool: i64,
    since_ms: i64,
) -> sqlx::Result<Vec<(i64, Option<i64>)>> {
    sqlx::query_as(
        "SELECT requested_ms, ended_ms FROM pool_machines
         WHERE pool_id = $1 AND (ended_ms IS NULL OR ended_ms > $2)",
    )
    .bind(pool)
    .bind(since_ms)
    .fetch_all(db.pool())
    .await
}

/// Asks pool `pool` for machine `name`: stores a one-use runner token for it (its hash,
/// `token_hash`) and the machine, `requested`. Returns the machine's id.
pub async fn request(db: &Db, pool: &Pool, name: &str, token_hash: &str) -> sqlx::Result<i64> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let token: i64 = sqlx::query_scalar(
        "INSERT INTO runner_tokens (name, token_hash, created_ms) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(format!("pool {} machine {name}", pool.name))
    .bind(token_hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pool_machines (pool_id, name, state, token_id, requested_ms, state_ms)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(pool.id)
    .bind(name)
    .bind(MachineState::Requested.as_str())
    .bind(token)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    record(&mut tx, id, MachineState::Requested, "", now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Moves machine `id` to `to` if it is in one of the states `from`, with `reason` in its
/// history; false (and nothing written) if it was not.
pub async fn change(
    db: &Db,
    id: i64,
    from: &[MachineState],
    to: MachineState,
    reason: &str,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let changed = change_in(&mut tx, id, from, to, reason).await?;
    tx.commit().await?;
    Ok(changed)
}

async fn change_in(
    tx: &mut Tx,
    id: i64,
    from: &[MachineState],
    to: MachineState,
    reason: &str,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let states = placeholders(from.len(), 5);
    let sql = format!(
        "UPDATE pool_machines SET state = $1, state_ms = $2,
            idle_ms = CASE WHEN $1 = 'idle' THEN COALESCE(idle_ms, $2) ELSE NULL END
         WHERE id = $3 AND ended_ms IS NULL AND state <> $4 AND state IN ({states})"
    );
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(now)
        .bind(id)
        .bind(to.as_str());
    for state in from {
        query = query.bind(state.as_str());
    }
    let changed = query.execute(&mut **tx).await?.rows_affected() == 1;
    if changed {
        record(tx, id, to, reason, now).await?;
    }
    Ok(changed)
}

/// Starts deleting machine `id`, which is in one of the states `from`, to end as `ending`:
/// revokes its runner token first so its runner takes no new job. A machine in `ready` or
/// `idle` whose runner took a job meanwhile is left alone (false).
pub async fn start_deleting(
    db: &Db,
    id: i64,
    from: &[MachineState],
    ending: MachineState,
    reason: &str,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let token: Option<Option<i64>> =
        sqlx::query_scalar("SELECT token_id FROM pool_machines WHERE id = $1 AND ended_ms IS NULL")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(token) = token else {
        return Ok(false);
    };
    if let Some(token) = token {
        sqlx::query(
            "UPDATE runner_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
        )
        .bind(now_ms())
        .bind(token)
        .execute(&mut *tx)
        .await?;
    }
    if ending == MachineState::Gone {
        // An idle machine is deleted only while it holds no job: checked after the revocation,
        // so a lease either landed before it (and is seen here) or cannot land at all.
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs j JOIN pool_machines m ON m.runner_id = j.runner_id
             WHERE m.id = $1 AND j.lease_expires_ms IS NOT NULL",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if busy > 0 {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    // A failed or lost machine's history says so at once; an idle one's says it drained.
    let via = if ending == MachineState::Gone {
        MachineState::Draining
    } else {
        ending
    };
    if !change_in(&mut tx, id, from, via, reason).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    change_in(&mut tx, id, &[via], MachineState::Deleting, "").await?;
    sqlx::query("UPDATE pool_machines SET ending = $1 WHERE id = $2")
        .bind(ending.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records that machine `id`'s delete command finished: it is in its ending state for good.
pub async fn ended(db: &Db, id: i64, output: &str) -> sqlx::Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let ending: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE pool_machines SET state = COALESCE(ending, 'gone'), state_ms = $1, ended_ms = $1,
            idle_ms = NULL, output = $2
         WHERE id = $3 AND ended_ms IS NULL RETURNING ending",
    )
    .bind(now)
    .bind(output)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(ending) = ending {
        let state = ending
            .as_deref()
            .and_then(MachineState::parse)
            .unwrap_or(MachineState::Gone);
        // A failed or lost machine is recorded so twice: why, then that it is deleted.
        let reason = if state == MachineState::Gone {
            ""
        } else {
            "deleted"
        };
        record(&mut tx, id, state, reason, now).await?;
        charge_idle_time(&mut tx, id, now).await?;
    }
    tx.commit().await
}

/// Charges the time machine `id` (ended at `now`) was paid for but no job used to the projects
/// whose jobs ran on it, in proportion to what those jobs cost: the team that made a pool grow
/// pays for its machines' idle minutes too. A machine that ran no priced job (it failed to
/// boot, or kept the pool at its `min`) stays on the pool's spend alone.
async fn charge_idle_time(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    let (requested_ms, runner, settings): (i64, Option<i64>, String) = sqlx::query_as(
        "SELECT m.requested_ms, m.runner_id, p.settings
         FROM pool_machines m JOIN pools p ON p.id = m.pool_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let Ok(settings) = serde_json::from_str::<PoolSettings>(&settings) else {
        return Ok(());
    };
    let life = spent(
        &[(requested_ms, Some(now))],
        requested_ms,
        now,
        settings.price_per_hour,
    );
    let paid: Vec<(i64, f64)> = match runner {
        Some(runner) => {
            sqlx::query_as(
                "SELECT project_id, SUM(cost_usd) FROM jobs
                 WHERE runner_id = $1 AND cost_usd > 0 GROUP BY project_id",
            )
            .bind(runner)
            .fetch_all(&mut **tx)
            .await?
        }
        None => Vec::new(),
    };
    let used: f64 = paid.iter().map(|(_, cost)| cost).sum();
    let idle = (life - used).max(0.0);
    sqlx::query("UPDATE pool_machines SET idle_cost_usd = $1 WHERE id = $2")
        .bind(idle)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if used <= 0.0 || idle <= 0.0 {
        return Ok(());
    }
    for (project, cost) in paid {
        sqlx::query(
            "UPDATE projects SET cost_usd = cost_usd + $1, idle_cost_usd = idle_cost_usd + $1
             WHERE id = $2",
        )
        .bind(idle * cost / used)
        .bind(project)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Stores a machine of pool `pool` that lived and ended before now, as the demo shows one:
/// `changes` (state, when, why) oldest first, the last its end (gone, failed or lost). No runner
/// ran jobs on it here, so its whole life is its idle cost, on the pool's spend alone.
pub async fn past_machine(
    db: &Db,
    pool: &Pool,
    name: &str,
    changes: &[(MachineState, i64, &str)],
    output: &str,
) -> sqlx::Result<i64> {
    let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
        return Err(sqlx::Error::Protocol("a machine's life has changes".into()));
    };
    let mut tx = db.begin().await?;
    let idle = spent(
        &[(first.1, Some(last.1))],
        first.1,
        last.1,
        pool.settings.price_per_hour,
    );
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pool_machines (pool_id, name, state, requested_ms, state_ms, ended_ms,
            ending, output, idle_cost_usd)
         VALUES ($1, $2, $3, $4, $5, $5, $3, $6, $7) RETURNING id",
    )
    .bind(pool.id)
    .bind(name)
    .bind(last.0.as_str())
    .bind(first.1)
    .bind(last.1)
    .bind(output)
    .bind(idle)
    .fetch_one(&mut *tx)
    .await?;
    for &(state, at_ms, reason) in changes {
        record(&mut tx, id, state, reason, at_ms).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Records that machine `id`'s delete command failed for `reason`: it stays `deleting`, and
/// is tried again counting from now.
pub async fn failed_delete(db: &Db, id: i64, reason: &str, output: &str) -> sqlx::Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE pool_machines SET state_ms = $1, output = $2 WHERE id = $3")
        .bind(now)
        .bind(output)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, id, MachineState::Deleting, reason, now).await?;
    tx.commit().await
}

/// Keeps the end of the last command's output of machine `id`.
pub async fn set_output(db: &Db, id: i64, output: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE pool_machines SET output = $1 WHERE id = $2")
        .bind(output)
        .bind(id)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// The machine whose one-use token is `token`, with its pool; `None` for other tokens.
pub async fn of_token(db: &Db, token: i64) -> sqlx::Result<Option<(Machine, Pool)>> {
    let Some(row) =
        sqlx::query_as::<_, MachineRow>(&format!("{SELECT_MACHINE} WHERE m.token_id = $1"))
            .bind(token)
            .fetch_optional(db.pool())
            .await?
    else {
        return Ok(None);
    };
    let machine = Machine::from(row);
    let pool = sqlx::query_as::<_, PoolRow>(
        "SELECT id, name, settings, create_failures, next_create_ms FROM pools WHERE id = $1",
    )
    .bind(machine.pool_id)
    .fetch_optional(db.pool())
    .await?
    .and_then(PoolRow::pool);
    Ok(pool.map(|pool| (machine, pool)))
}

/// Ties machine `id` to the runner that registered with its token: it is `ready`.
pub async fn attach(db: &Db, id: i64, runner: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE pool_machines SET runner_id = $1 WHERE id = $2")
        .bind(runner)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    change_in(
        &mut tx,
        id,
        &[MachineState::Requested, MachineState::Booting],
        MachineState::Ready,
        "",
    )
    .await?;
    tx.commit().await
}

/// A GPU-hour's price on each runner that registered for a pool machine: the machine's price
/// shared by its GPUs. Machines ended more than a day ago are left out (no lease outlives them
/// that long).
pub async fn runner_prices(db: &Db) -> sqlx::Result<BTreeMap<i64, f64>> {
    prices(db, None).await
}

/// [`runner_prices`] of runner `runner` alone: what each finishing job reads.
pub async fn runner_price(db: &Db, runner: i64) -> sqlx::Result<Option<f64>> {
    Ok(prices(db, Some(runner)).await?.remove(&runner))
}

async fn prices(db: &Db, only: Option<i64>) -> sqlx::Result<BTreeMap<i64, f64>> {
    let filter = if only.is_some() {
        " AND m.runner_id = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.runner_id, p.settings FROM pool_machines m JOIN pools p ON p.id = m.pool_id
         WHERE m.runner_id IS NOT NULL AND (m.ended_ms IS NULL OR m.ended_ms > $1){filter}"
    );
    let mut query = sqlx::query_as::<_, (i64, String)>(&sql).bind(now_ms() - 86_400_000);
    if let Some(runner) = only {
        query = query.bind(runner);
    }
    let rows = query.fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(runner, settings)| {
            let settings: PoolSettings = serde_json::from_str(&settings).ok()?;
            Some((runner, settings.price_per_gpu_hour()))
        })
        .collect())
}

/// Records a failed create command of pool `pool`: `failures` in a row, none before `next_ms`.
pub async fn back_off(db: &Db, pool: i64, failures: i64, next_ms: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE pools SET create_failures = $1, next_create_ms = $2 WHERE id = $3")
        .bind(failures)
        .bind(next_ms)
        .bind(pool)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// The latest `limit` changes of pool `pool`'s machines, newest first.
pub async fn history(db: &Db, pool: i64, limit: i64) -> sqlx::Result<Vec<MachineChange>> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT c.at_ms, m.name, c.state, c.reason FROM pool_changes c
         JOIN pool_machines m ON m.id = c.machine_id
         WHERE m.pool_id = $1 ORDER BY c.id DESC LIMIT $2",
    )
    .bind(pool)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(at_ms, machine, state, reason)| {
            Some(MachineChange {
                at_ms,
                machine,
                state: MachineState::parse(&state)?,
                reason,
            })
        })
        .collect())
}

/// What some queued jobs need of a machine, with how many jobs need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedNeed {
    /// GPUs each asks for.
    pub gpus: i64,
    /// Memory of each GPU, in MiB, when they ask.
    pub gpu_memory_mib: Option<i64>,
    /// The GPUs' model, when they ask.
    pub gpu_model: Option<String>,
    /// Labels the runner must have, sorted.
    pub labels: Vec<String>,
    /// Queued jobs with exactly these needs.
    pub jobs: i64,
}

/// A row of [`queued_needs`]: GPUs, memory, model, labels joined by ',', and how many jobs.
type NeedRow = (i64, Option<i64>, Option<String>, String, i64);

/// What the queued jobs millrace runs need, grouped by kind of need: the database does the
/// counting, so a pass reads a few rows however long the queue is.
pub async fn queued_needs(db: &Db) -> sqlx::Result<Vec<QueuedNeed>> {
    // The queue's partial index holds exactly these jobs; each carries its labels sorted and
    // joined (`jobs.labels`), so one grouping over it counts every kind of need.
    let rows: Vec<NeedRow> = sqlx::query_as(
        "SELECT gpus, gpu_memory_mib, gpu_model, labels, COUNT(*) FROM jobs
         WHERE status = 0 AND spec IS NOT NULL
         GROUP BY gpus, gpu_memory_mib, gpu_model, labels",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(gpus, gpu_memory_mib, gpu_model, labels, jobs)| QueuedNeed {
                gpus,
                gpu_memory_mib,
                gpu_model,
                labels: labels
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                jobs,
            },
        )
        .collect())
}

/// Appends a change of machine `id` to its history.
async fn record(
    tx: &mut Tx,
    id: i64,
    state: MachineState,
    reason: &str,
    at_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO pool_changes (machine_id, at_ms, state, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(at_ms)
    .bind(state.as_str())
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// `$first, $first+1, …`: `count` numbered placeholders.
fn placeholders(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob, RunSpec};
    use crate::db::runners::{self, Registration};
    use crate::db::testing::each_backend;
    use crate::db::{projects, queue, users};
    use MachineState::*;

    fn settings(max: u32) -> PoolSettings {
        PoolSettings {
            labels: vec!["spot".into()],
            gpus_per_machine: 4,
            gpu_model: None,
            gpu_memory_mib: None,
            price_per_hour: 8.0,
            min: 0,
            max,
            idle_timeout_s: 60,
            boot_timeout_s: 60,
            command_timeout_s: 60,
            max_cost_per_day: None,
            create: vec!["create.sh".into()],
            delete: vec!["delete.sh".into()],
        }
    }

    async fn queue_job(db: &Db, labels: &[&str], gpus: i64) -> i64 {
        queue_job_in(db, "p", labels, gpus).await
    }

    /// Queues a job in ann's project `name`, made first if need be.
    async fn queue_job_in(db: &Db, name: &str, labels: &[&str], gpus: i64) -> i64 {
        let user = match users::find_by_name(db, "ann").await.unwrap() {
            Some(user) => user,
            None => users::create(db, "ann", "Ann").await.unwrap(),
        };
        let project = match projects::create(db, user.id, name, "", false).await {
            Ok(id) => id,
            Err(_) => {
                projects::find_visible(db, user.id, "ann", name)
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            }
        };
        let job = NewJob {
            name: "job".into(),
            gpus,
            created_by: Some(user.id),
            run: Some(RunSpec {
                spec_name: "job".into(),
                spec_hash: "h".into(),
                spec_json: "{}".into(),
                labels: labels.iter().map(|l| (*l).to_owned()).collect(),
                ..RunSpec::default()
            }),
            ..NewJob::default()
        };
        let mut tx = db.begin().await.unwrap();
        let refs = jobs::insert_many(&mut tx, project, &[job]).await.unwrap();
        tx.commit().await.unwrap();
        refs[0].id
    }

    #[tokio::test]
    async fn applying_a_pool_says_whether_it_is_new_changed_or_unchanged() {
        each_backend(|db| async move {
            assert_eq!(
                apply(&db, "spot", &settings(2)).await.unwrap(),
                Applied::Created
            );
            assert_eq!(
                apply(&db, "spot", &settings(2)).await.unwrap(),
                Applied::Unchanged
            );
            let pool = all(&db).await.unwrap().remove(0);
            back_off(&db, pool.id, 3, i64::MAX).await.unwrap();
            assert_eq!(
                apply(&db, "spot", &settings(5)).await.unwrap(),
                Applied::Changed
            );
            let pool = all(&db).await.unwrap().remove(0);
            assert_eq!(
                (pool.settings.max, pool.create_failures, pool.next_create_ms),
                (5, 0, 0)
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_machine_lives_from_request_to_gone_and_its_token_dies_with_it() {
        each_backend(|db| async move {
            apply(&db, "spot", &settings(2)).await.unwrap();
            let pool = all(&db).await.unwrap().remove(0);
            let id = request(&db, &pool, "spot-1", "hash-1").await.unwrap();
            let token = runners::token_for_hash(&db, "hash-1")
                .await
                .unwrap()
                .unwrap();
            let (machine, of) = of_token(&db, token).await.unwrap().unwrap();
            assert_eq!(
                (machine.id, machine.state, of.name.as_str()),
                (id, Requested, "spot")
            );
            assert!(change(&db, id, &[Requested], Booting, "").await.unwrap());
            assert!(
                !change(&db, id, &[Requested], Booting, "").await.unwrap(),
                "not twice"
            );

            let registration = Registration {
                name: "spot-1".into(),
                gpus: vec!["0".into(), "1".into(), "2".into(), "3".into()],
                labels: vec!["spot".into()],
                max_jobs: 4,
                ..Default::default()
            };
            let runner = runners::register(&db, token, &registration)
                .await
                .unwrap()
                .unwrap();
            attach(&db, id, runner.id).await.unwrap();
            assert_eq!(
                runner_prices(&db).await.unwrap().get(&runner.id),
                Some(&2.0)
            );

            // It holds a job: deleting it as idle is refused, and its token stays live.
            let job = queue_job(&db, &["spot"], 2).await;
            let lease = queue::lease(&db, &runner, &registration.gpus, 30_000)
                .await
                .unwrap();
            assert_eq!(lease.map(|l| l.id), Some(job));
            let live = live_machines(&db).await.unwrap();
            assert_eq!(
                (live[0].state, live[0].active_jobs, live[0].busy_gpus),
                (Ready, 1, 2)
            );
            assert!(!start_deleting(&db, id, &[Ready, Idle], Gone, "idle")
                .await
                .unwrap());
            assert!(runners::token_for_hash(&db, "hash-1")
                .await
                .unwrap()
                .is_some());

            // Lost: its token is revoked at once, and it ends when its delete command ran.
            assert!(
                start_deleting(&db, id, &[Ready, Busy, Idle], Lost, "silent")
                    .await
                    .unwrap()
            );
            assert_eq!(runners::token_for_hash(&db, "hash-1").await.unwrap(), None);
            assert_eq!(live_machines(&db).await.unwrap()[0].state, Deleting);
            failed_delete(&db, id, "delete.sh exited with 1", "boom")
                .await
                .unwrap();
            assert_eq!(runners::list(&db).await.unwrap().len(), 1);
            ended(&db, id, "deleted").await.unwrap();
            assert!(live_machines(&db).await.unwrap().is_empty());
            assert!(
                runners::list(&db).await.unwrap().is_empty(),
                "a gone machine's runner is in its pool's history only"
            );
            let states: Vec<(MachineState, String)> = history(&db, pool.id, 10)
                .await
                .unwrap()
                .into_iter()
                .rev()
                .map(|c| (c.state, c.reason))
                .collect();
            let expected = [
                (Requested, ""),
                (Booting, ""),
                (Ready, ""),
                (Lost, "silent"),
                (Deleting, ""),
                (Deleting, "delete.sh exited with 1"),
                (Lost, "deleted"),
            ];
            let expected: Vec<(MachineState, String)> = expected
                .iter()
                .map(|(s, r)| (*s, (*r).to_owned()))
                .collect();
            assert_eq!(states, expected);
            let lives = lives_since(&db, pool.id, 0).await.unwrap();
            assert!(lives[0].1.is_some(), "its life has an end: {lives:?}");
        })
        .await;
    }

    #[tokio::test]
    async fn a_machine_s_idle_time_is_charged_to_the_projects_whose_jobs_ran_on_it() {
        each_backend(|db| async move {
            apply(&db, "spot", &settings(2)).await.unwrap();
            let pool = all(&db).await.unwrap().remove(0);
            let project = |name: &'static str| {
                let db = db.clone();
                async move {
                    let ann = users::find_by_name(&db, "ann").await.unwrap().unwrap();
                    projects::find_visible(&db, ann.id, "ann", name)
                        .await
                        .unwrap()
                        .unwrap()
                }
            };
            let two_hours_ago = now_ms() - 7_200_000;
            let machine = |name: &'static str| {
                let (db, pool) = (db.clone(), pool.clone());
                async move {
                    let id = request(&db, &pool, name, name).await.unwrap();
                    let token = runners::token_for_hash(&db, name).await.unwrap().unwrap();
                    let registration = Registration {
                        name: name.into(),
                        gpus: vec!["0".into()],
                        labels: vec!["spot".into()],
                        max_jobs: 1,
                        ..Default::default()
                    };
                    let runner = runners::register(&db, token, &registration)
                        .await
                        .unwrap()
                        .unwrap();
                    attach(&db, id, runner.id).await.unwrap();
                    sqlx::query("UPDATE pool_machines SET requested_ms = $1 WHERE id = $2")
                        .bind(two_hours_ago)
                        .bind(id)
                        .execute(db.pool())
                        .await
                        .unwrap();
                    (id, runner.id)
                }
            };
            // Two hours of an 8/h machine cost 16; its jobs were charged 4 (p) and 2 (q), as
            // `queue::finish` charges them and adds that to their projects.
            let (id, runner) = machine("spot-1").await;
            for (name, cost) in [("p", 4.0), ("q", 2.0)] {
                let job = queue_job_in(&db, name, &["spot"], 1).await;
                sqlx::query("UPDATE jobs SET runner_id = $1, cost_usd = $2 WHERE id = $3")
                    .bind(runner)
                    .bind(cost)
                    .bind(job)
                    .execute(db.pool())
                    .await
                    .unwrap();
                sqlx::query("UPDATE projects SET cost_usd = $1 WHERE name = $2")
                    .bind(cost)
                    .bind(name)
                    .execute(db.pool())
                    .await
                    .unwrap();
            }
            // A machine that ran nothing: its cost stays the pool's.
            let (unused, _) = machine("spot-2").await;
            for id in [id, unused] {
                assert!(start_deleting(&db, id, &[Ready], Gone, "idle")
                    .await
                    .unwrap());
                ended(&db, id, "").await.unwrap();
            }

            let (p, q) = (project("p").await, project("q").await);
            let near = |a: f64, b: f64| (a - b).abs() < 0.01;
            assert!(near(p.idle_cost_usd, 10.0 * 4.0 / 6.0), "{p:?}");
            assert!(near(p.cost_usd, 4.0 + 10.0 * 4.0 / 6.0), "{p:?}");
            assert!(near(q.idle_cost_usd, 10.0 * 2.0 / 6.0), "{q:?}");
            assert!(near(q.cost_usd, 2.0 + 10.0 * 2.0 / 6.0), "{q:?}");
            let idle: Vec<Option<f64>> =
                sqlx::query_scalar("SELECT idle_cost_usd FROM pool_machines ORDER BY id")
                    .fetch_all(db.pool())
                    .await
                    .unwrap();
            assert!(
                near(idle[0].unwrap(), 10.0) && near(idle[1].unwrap(), 16.0),
                "{idle:?}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn an_idle_machine_drains_before_it_is_deleted() {
        each_backend(|db| async move {
            apply(&db, "spot", &settings(2)).await.unwrap();
            let pool = all(&db).await.unwrap().remove(0);
            let id = request(&db, &pool, "spot-1", "hash-1").await.unwrap();
            assert!(change(&db, id, &[Requested], Idle, "").await.unwrap());
            assert!(live_machines(&db).await.unwrap()[0].idle_ms.is_some());
            assert!(start_deleting(&db, id, &[Idle], Gone, "idle for 60s")
                .await
                .unwrap());
            ended(&db, id, "").await.unwrap();
            let states: Vec<MachineState> = history(&db, pool.id, 10)
                .await
                .unwrap()
                .into_iter()
                .rev()
                .map(|c| c.state)
                .collect();
            assert_eq!(states, [Requested, Idle, Draining, Deleting, Gone]);
        })
        .await;
    }

    #[tokio::test]
    async fn migration_0021_gives_jobs_the_labels_column_new_jobs_are_written_with() {
        each_backend(|db| async move {
            queue_job(&db, &["spot", "a100", "Zeta"], 2).await;
            queue_job(&db, &[], 1).await;
            let labels = || async {
                sqlx::query_scalar::<_, String>("SELECT labels FROM jobs ORDER BY id")
                    .fetch_all(db.pool())
                    .await
                    .unwrap()
            };
            let written = labels().await;
            assert_eq!(written, ["Zeta,a100,spot", ""]);
            // As jobs queued before the migration were: the column at its default.
            sqlx::query("UPDATE jobs SET labels = ''")
                .execute(db.pool())
                .await
                .unwrap();
            let migration = match db.backend() {
                crate::db::Backend::Sqlite => {
                    include_str!("../../migrations/sqlite/0021_job_labels_column.sql")
                }
                crate::db::Backend::Postgres => {
                    include_str!("../../migrations/postgres/0021_job_labels_column.sql")
                }
            };
            let backfill = &migration[migration.find("UPDATE").unwrap()..];
            sqlx::raw_sql(backfill).execute(db.pool()).await.unwrap();
            assert_eq!(labels().await, written);
        })
        .await;
    }

    #[tokio::test]
    async fn queued_needs_count_the_queued_jobs_of_each_kind() {
        each_backend(|db| async move {
            queue_job(&db, &["spot", "a100"], 2).await;
            queue_job(&db, &["a100", "spot"], 2).await;
            queue_job(&db, &["spot"], 2).await;
            queue_job(&db, &[], 0).await;
            // One row per kind of need, however its labels were ordered.
            let mut seen: Vec<(i64, Vec<String>, i64)> = queued_needs(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|need| (need.gpus, need.labels, need.jobs))
                .collect();
            seen.sort();
            let spot = || "spot".to_owned();
            let expected = vec![
                (0, vec![], 1),
                (2, vec!["a100".to_owned(), spot()], 2),
                (2, vec![spot()], 1),
            ];
            assert_eq!(seen, expected);
        })
        .await;
    }
}
