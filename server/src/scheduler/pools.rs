//! Elastic pools: each pass, the leader asks pools for machines when queued jobs fit them and
//! no machine can take them, and deletes machines that stayed idle, never registered, or
//! went silent. Commands run in tasks of their own, so a slow cloud never holds a pass up.

use super::pool_command;
use app::db::now_ms;
use app::db::pools::{self, Machine, Pool, QueuedNeed};
use app::runners::fleet;
use app::runners::pool::{MachineState, PoolSettings};
use app::state::AppState;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The shortest time between two passes, however often jobs are queued.
const MIN_GAP: Duration = Duration::from_millis(100);
/// A delete command that failed is tried again after this long.
const DELETE_RETRY_MS: i64 = 30_000;
/// The first wait after a failed create command; it doubles with each failure in a row.
const FIRST_BACKOFF_MS: i64 = 10_000;
/// The longest wait after failed create commands.
const MAX_BACKOFF_MS: i64 = 600_000;

/// Machines whose command runs in this process now: a pass leaves them to it.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<HashSet<i64>>>);

impl InFlight {
    fn has(&self, machine: i64) -> bool {
        self.0.lock().expect("in-flight lock").contains(&machine)
    }

    /// Marks `machine` busy; false if it already was.
    fn take(&self, machine: i64) -> bool {
        self.0.lock().expect("in-flight lock").insert(machine)
    }

    fn release(&self, machine: i64) {
        self.0.lock().expect("in-flight lock").remove(&machine);
    }
}

/// What the pool scheduler keeps between passes.
#[derive(Default)]
pub struct Memory {
    /// Machines whose command runs now.
    in_flight: InFlight,
    /// The queue's needs as last read, with the newest event then: every change to the queue
    /// appends an event, so a pass reads the queue again only after one.
    needs: Mutex<Option<(i64, Arc<[QueuedNeed]>)>>,
}

impl Memory {
    /// The queue's needs, read again only when an event was appended since the last read.
    async fn needs(&self, db: &app::db::Db) -> sqlx::Result<Arc<[QueuedNeed]>> {
        let mut conn = db.pool().acquire().await?;
        let last = app::db::events::last_id(&mut conn).await?;
        drop(conn);
        if let Some((seen, needs)) = self.needs.lock().expect("needs lock").as_ref() {
            if *seen == last {
                return Ok(needs.clone());
            }
        }
        let needs: Arc<[QueuedNeed]> = pools::queued_needs(db).await?.into();
        *self.needs.lock().expect("needs lock") = Some((last, needs.clone()));
        Ok(needs)
    }
}

/// Runs a pass every `every`, and whenever a job is queued, until `stop` resolves; does
/// nothing without `--pool-scripts`.
pub async fn run(state: AppState, every: Duration, stop: impl std::future::Future<Output = ()>) {
    let Some(scripts) = state.runs.pool_scripts.clone() else {
        // A replica that leads without the folder would leave every pool's machines waiting:
        // say so where the operator looks.
        if pools::all(&state.db).await.is_ok_and(|p| !p.is_empty()) {
            tracing::warn!(
                "pools are applied but this server was started without --pool-scripts: it \
                 creates and deletes no machines while it leads"
            );
        }
        return;
    };
    tokio::pin!(stop);
    let memory = Memory::default();
    let mut ticks = super::ticks(every);
    let mut last = std::time::Instant::now() - MIN_GAP;
    loop {
        // A newly queued job wakes the pass at once, so a cold pool's wait starts now rather
        // than at the next tick; a busy queue (every status change wakes it too) still gets at
        // most one pass per MIN_GAP.
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
            () = state.runs.queued.notified() => {}
        }
        tokio::time::sleep(MIN_GAP.saturating_sub(last.elapsed())).await;
        last = std::time::Instant::now();
        if let Err(error) = pass(&state, &scripts, &memory).await {
            tracing::warn!(%error, "the pool pass failed; trying again");
        }
    }
}

/// One look at every pool: machines that should go are deleted, then machines the queue
/// needs are asked for.
pub async fn pass(state: &AppState, scripts: &Path, memory: &Memory) -> sqlx::Result<()> {
    let in_flight = &memory.in_flight;
    let now = now_ms();
    let pools = pools::all(&state.db).await?;
    let machines = pools::live_machines(&state.db).await?;
    let by_id: BTreeMap<i64, &Pool> = pools.iter().map(|p| (p.id, p)).collect();
    let mut live: BTreeMap<i64, Vec<Machine>> = BTreeMap::new();
    for machine in machines {
        let Some(pool) = by_id.get(&machine.pool_id) else {
            continue;
        };
        if in_flight.has(machine.id) {
            live.entry(pool.id).or_default().push(machine);
            continue;
        }
        if let Some(kept) = tend(state, scripts, in_flight, pool, machine, now).await? {
            live.entry(pool.id).or_default().push(kept);
        }
    }
    let mut room = BTreeMap::new();
    let mut held = BTreeMap::new();
    for pool in &pools {
        let machines = live.get(&pool.id).map_or(&[][..], Vec::as_slice);
        let hold = fleet::hold(&state.db, pool, now).await?;
        room.insert(pool.id, self::room(pool, machines, hold.is_none()));
        held.insert(pool.id, hold.is_some());
    }
    let needs = memory.needs(&state.db).await?;
    let demand = demand(&pools, &room, &needs);
    for pool in &pools {
        let machines = live.remove(&pool.id).unwrap_or_default();
        let wanted = wanted(pool, &machines, demand.get(&pool.id).copied().unwrap_or(0));
        if wanted == 0 || held[&pool.id] {
            continue;
        }
        for _ in 0..wanted {
            create(state, scripts, in_flight, pool).await?;
        }
    }
    Ok(())
}

/// Looks after one machine: starts deleting it when it should go; returns it when it stays.
async fn tend(
    state: &AppState,
    scripts: &Path,
    in_flight: &InFlight,
    pool: &Pool,
    machine: Machine,
    now: i64,
) -> sqlx::Result<Option<Machine>> {
    use MachineState::{Booting, Busy, Deleting, Draining, Idle, Ready, Requested};
    let settings = &pool.settings;
    let since = |ms: i64| now - ms;
    let ending = match machine.state {
        Requested | Booting if since(machine.requested_ms) > secs(settings.boot_timeout_s) => {
            Some((
                MachineState::Failed,
                format!(
                    "its runner did not register within {}s",
                    settings.boot_timeout_s
                ),
            ))
        }
        Ready | Busy | Idle
            if machine
                .last_seen_ms
                .is_some_and(|seen| since(seen) > state.runs.lease_ms) =>
        {
            Some((
                MachineState::Lost,
                "its runner stopped reporting (preempted or down); its jobs are requeued".into(),
            ))
        }
        Ready | Busy | Idle => {
            let now_state = if machine.active_jobs > 0 { Busy } else { Idle };
            if now_state != machine.state {
                pools::change(&state.db, machine.id, &[Ready, Busy, Idle], now_state, "").await?;
            }
            let idle_since = if now_state == Idle {
                machine.idle_ms.unwrap_or(now)
            } else {
                now
            };
            if since(idle_since) > secs(settings.idle_timeout_s) && surplus(state, pool).await? {
                Some((
                    MachineState::Gone,
                    format!("idle for {}s", settings.idle_timeout_s),
                ))
            } else {
                return Ok(Some(Machine {
                    state: now_state,
                    ..machine
                }));
            }
        }
        // Left by a command that failed, or by a leader that stopped mid-command.
        Deleting | Draining if since(machine.state_ms) > DELETE_RETRY_MS => {
            delete(
                state,
                scripts,
                in_flight,
                pool,
                machine.id,
                machine.name.clone(),
            );
            return Ok(None);
        }
        Deleting | Draining => return Ok(None),
        _ => return Ok(Some(machine)),
    };
    let Some((ending, reason)) = ending else {
        return Ok(Some(machine));
    };
    let from = [Requested, Booting, Ready, Busy, Idle];
    if pools::start_deleting(&state.db, machine.id, &from, ending, &reason).await? {
        tracing::info!(pool = %pool.name, machine = %machine.name, %reason, "deleting a machine");
        delete(
            state,
            scripts,
            in_flight,
            pool,
            machine.id,
            machine.name.clone(),
        );
        Ok(None)
    } else {
        Ok(Some(machine))
    }
}

/// Whether pool `pool` has more live machines than its `min`, so an idle one may go.
async fn surplus(state: &AppState, pool: &Pool) -> sqlx::Result<bool> {
    let live = pools::live_machines(&state.db)
        .await?
        .into_iter()
        .filter(|m| {
            m.pool_id == pool.id
                && !matches!(m.state, MachineState::Deleting | MachineState::Draining)
        })
        .count();
    Ok(live > usize::try_from(pool.settings.min).unwrap_or(usize::MAX))
}

/// GPU slots the queue needs of each pool. Pools are tried by name and each queued job counts
/// towards the first that fits it and has `room` left for it, so two pools never both grow for
/// one job and a job a full pool cannot take grows the next pool that fits; jobs no pool has
/// room for count towards the first that fits (it grows once it can). A job without GPUs takes
/// a slot too.
pub fn demand(
    pools: &[Pool],
    room: &BTreeMap<i64, u64>,
    needs: &[QueuedNeed],
) -> BTreeMap<i64, u64> {
    let fits: Vec<_> = pools
        .iter()
        .map(|pool| (pool, pool.settings.fit()))
        .collect();
    let mut room = room.clone();
    let mut demand = BTreeMap::new();
    for need in needs {
        let fitting: Vec<&Pool> = fits
            .iter()
            .filter(|(_, fit)| {
                fit.takes(
                    need.gpus,
                    need.gpu_memory_mib,
                    need.gpu_model.as_deref(),
                    &need.labels,
                )
            })
            .map(|(pool, _)| *pool)
            .collect();
        let Some(first) = fitting.first() else {
            continue;
        };
        let each = u64::try_from(need.gpus.max(1)).unwrap_or(u64::MAX);
        let mut jobs = u64::try_from(need.jobs).unwrap_or(0);
        let mut count = |pool: i64, jobs: u64| {
            if jobs > 0 {
                let slots = demand.entry(pool).or_insert(0u64);
                *slots = slots.saturating_add(jobs.saturating_mul(each));
            }
        };
        for pool in &fitting {
            let left = room.entry(pool.id).or_insert(0);
            let taken = jobs.min(*left / each);
            *left -= taken * each;
            count(pool.id, taken);
            jobs -= taken;
        }
        count(first.id, jobs);
    }
    demand
}

/// GPU slots pool `pool` could give queued jobs: its live machines' free slots (booting ones
/// count as free), and the slots of the machines it may still create when it `may_grow`.
pub fn room(pool: &Pool, machines: &[Machine], may_grow: bool) -> u64 {
    let settings = &pool.settings;
    let slots = u64::from(settings.gpus_per_machine.max(1));
    let counted = counted(machines);
    let growth = if may_grow {
        u64::from(settings.max).saturating_sub(counted.len() as u64)
    } else {
        0
    };
    free_slots(pool, &counted).saturating_add(growth.saturating_mul(slots))
}

/// The machines that count towards a pool's size: all live ones but those being deleted.
fn counted(machines: &[Machine]) -> Vec<&Machine> {
    machines
        .iter()
        .filter(|m| !matches!(m.state, MachineState::Deleting | MachineState::Draining))
        .collect()
}

/// The GPU slots `machines` of pool `pool` hold free; a booting machine's are all free.
fn free_slots(pool: &Pool, machines: &[&Machine]) -> u64 {
    let settings = &pool.settings;
    let slots = u64::from(settings.gpus_per_machine.max(1));
    machines
        .iter()
        .map(|m| match m.state {
            MachineState::Requested | MachineState::Booting => slots,
            _ => {
                let used = if settings.gpus_per_machine == 0 {
                    m.active_jobs
                } else {
                    m.busy_gpus
                };
                slots.saturating_sub(u64::try_from(used).unwrap_or(0))
            }
        })
        .sum()
}

/// How many machines pool `pool` should ask for now, with `machines` live and `demand` GPU
/// slots of queued jobs it fits: enough for what its machines cannot take (booting ones
/// count as free), at least up to `min`, never past `max`.
pub fn wanted(pool: &Pool, machines: &[Machine], demand: u64) -> u64 {
    let settings = &pool.settings;
    let slots = u64::from(settings.gpus_per_machine.max(1));
    let counted = counted(machines);
    let free = free_slots(pool, &counted);
    let live = counted.len() as u64;
    let for_queue = demand.saturating_sub(free).div_ceil(slots);
    let for_min = u64::from(settings.min).saturating_sub(live);
    for_queue
        .max(for_min)
        .min(u64::from(settings.max).saturating_sub(live))
}

/// Asks pool `pool` for a machine and runs its create command in a task of its own.
async fn create(
    state: &AppState,
    scripts: &Path,
    in_flight: &InFlight,
    pool: &Pool,
) -> sqlx::Result<()> {
    let suffix: String = (0..6)
        .map(|_| char::from_digit(rand::random::<u32>() % 36, 36).expect("a base-36 digit"))
        .collect();
    let name = format!("{}-{suffix}", pool.name);
    let secret = app::auth::new_secret();
    let id = pools::request(&state.db, pool, &name, &app::auth::hash_secret(&secret)).await?;
    tracing::info!(pool = %pool.name, machine = %name, "asking for a machine");
    in_flight.take(id);
    let env = vec![
        ("MILLRACE_SERVER", state.runs.runner_url.clone()),
        ("MILLRACE_TOKEN", secret),
        ("MILLRACE_POOL", pool.name.clone()),
        ("MILLRACE_MACHINE", name.clone()),
        ("MILLRACE_LABELS", pool.settings.labels.join(",")),
    ];
    let (state, scripts, in_flight, pool) = (
        state.clone(),
        scripts.to_owned(),
        in_flight.clone(),
        pool.clone(),
    );
    tokio::spawn(async move {
        let argv = PoolSettings::argv(&pool.settings.create, &pool.name, &name);
        let timeout = Duration::from_secs(pool.settings.command_timeout_s);
        let ran = pool_command::run(&scripts, &argv, &env, timeout).await;
        if let Err(error) = created(&state, &pool, id, &ran).await {
            tracing::warn!(%error, machine = %name, "recording a create command failed");
        }
        in_flight.release(id);
        if let Some(reason) = ran.failure {
            tracing::warn!(pool = %pool.name, machine = %name, %reason, "a create command failed");
            let from = [
                MachineState::Requested,
                MachineState::Booting,
                MachineState::Ready,
            ];
            match pools::start_deleting(&state.db, id, &from, MachineState::Failed, &reason).await {
                Ok(true) => delete(&state, &scripts, &in_flight, &pool, id, name),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "recording a failed machine failed"),
            }
        }
    });
    Ok(())
}

/// Records how machine `id`'s create command ended, and the pool's backoff.
async fn created(
    state: &AppState,
    pool: &Pool,
    id: i64,
    ran: &pool_command::Ran,
) -> sqlx::Result<()> {
    pools::set_output(&state.db, id, &ran.output).await?;
    if ran.failure.is_some() {
        let failures = pool.create_failures + 1;
        let wait = FIRST_BACKOFF_MS
            .saturating_mul(1 << (failures - 1).clamp(0, 16))
            .min(MAX_BACKOFF_MS);
        return pools::back_off(&state.db, pool.id, failures, now_ms() + wait).await;
    }
    pools::back_off(&state.db, pool.id, 0, 0).await?;
    pools::change(
        &state.db,
        id,
        &[MachineState::Requested],
        MachineState::Booting,
        "",
    )
    .await
    .map(|_| ())
}

/// Runs pool `pool`'s delete command for machine `id` in a task of its own; the machine ends
/// when it succeeds, and is tried again later when it fails.
fn delete(
    state: &AppState,
    scripts: &Path,
    in_flight: &InFlight,
    pool: &Pool,
    id: i64,
    name: String,
) {
    if !in_flight.take(id) {
        return;
    }
    let (state, scripts, in_flight, pool) = (
        state.clone(),
        scripts.to_owned(),
        in_flight.clone(),
        pool.clone(),
    );
    tokio::spawn(async move {
        let argv = PoolSettings::argv(&pool.settings.delete, &pool.name, &name);
        let timeout = Duration::from_secs(pool.settings.command_timeout_s);
        let env = [
            ("MILLRACE_POOL", pool.name.clone()),
            ("MILLRACE_MACHINE", name.clone()),
        ];
        let ran = pool_command::run(&scripts, &argv, &env, timeout).await;
        let recorded = match &ran.failure {
            None => pools::ended(&state.db, id, &ran.output).await,
            Some(reason) => {
                tracing::warn!(pool = %pool.name, machine = %name, %reason, "a delete command failed; trying again");
                pools::failed_delete(&state.db, id, reason, &ran.output).await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(%error, machine = %name, "recording a delete command failed");
        }
        in_flight.release(id);
    });
}

fn secs(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(id: i64, name: &str, labels: &[&str], max: u32) -> Pool {
        Pool {
            id,
            name: name.into(),
            settings: PoolSettings {
                labels: labels.iter().map(|l| l.to_string()).collect(),
                gpus_per_machine: 2,
                gpu_model: None,
                gpu_memory_mib: None,
                price_per_hour: 4.0,
                min: 0,
                max,
                idle_timeout_s: 60,
                boot_timeout_s: 60,
                command_timeout_s: 60,
                max_cost_per_day: None,
                create: vec!["create.sh".into()],
                delete: vec!["delete.sh".into()],
            },
            create_failures: 0,
            next_create_ms: 0,
        }
    }

    fn machine(id: i64, pool: i64, state: MachineState, busy_gpus: i64) -> Machine {
        Machine {
            id,
            pool_id: pool,
            name: format!("m{id}"),
            state,
            token_id: None,
            runner_id: None,
            requested_ms: 0,
            state_ms: 0,
            idle_ms: None,
            ended_ms: None,
            ending: None,
            active_jobs: busy_gpus,
            busy_gpus,
            last_seen_ms: Some(0),
        }
    }

    fn need(gpus: i64, labels: &[&str], jobs: i64) -> QueuedNeed {
        QueuedNeed {
            gpus,
            gpu_memory_mib: None,
            gpu_model: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            jobs,
        }
    }

    #[test]
    fn a_job_counts_towards_the_first_pool_that_fits_and_has_room() {
        let (a, b) = (pool(1, "a", &["gpu"], 1), pool(2, "b", &["gpu"], 3));
        // Pool a's one machine is full; b may grow.
        let room = BTreeMap::from([
            (
                1,
                super::room(&a, &[machine(7, 1, MachineState::Busy, 2)], true),
            ),
            (2, super::room(&b, &[], true)),
        ]);
        assert_eq!(room, BTreeMap::from([(1, 0), (2, 6)]));
        let wants = demand(&[a.clone(), b.clone()], &room, &[need(1, &["gpu"], 3)]);
        assert_eq!(wants, BTreeMap::from([(2, 3)]));
        // With room in both, the first by name takes what it can and the next the rest.
        let room = BTreeMap::from([(1, 2), (2, 6)]);
        let wants = demand(&[a, b], &room, &[need(1, &["gpu"], 3)]);
        assert_eq!(wants, BTreeMap::from([(1, 2), (2, 1)]));
    }

    #[test]
    fn jobs_no_pool_has_room_for_count_towards_the_first_that_fits() {
        let (a, b) = (pool(1, "a", &["gpu"], 1), pool(2, "b", &["gpu", "spot"], 1));
        let room = BTreeMap::from([(1, 0), (2, 2)]);
        // Two-GPU jobs: b has room for one; the other waits on a, the first that fits.
        let needs = [need(2, &["gpu"], 2), need(1, &["tpu"], 5)];
        assert_eq!(
            demand(&[a, b], &room, &needs),
            BTreeMap::from([(1, 2), (2, 2)])
        );
    }

    #[test]
    fn a_held_pool_has_only_its_machines_free_slots_as_room() {
        let a = pool(1, "a", &["gpu"], 4);
        let machines = [
            machine(1, 1, MachineState::Busy, 1),
            machine(2, 1, MachineState::Booting, 0),
            machine(3, 1, MachineState::Draining, 0),
        ];
        assert_eq!(super::room(&a, &machines, false), 1 + 2);
        assert_eq!(super::room(&a, &machines, true), 1 + 2 + 2 * 2);
        assert_eq!(wanted(&a, &machines, 7), 2);
    }
}
