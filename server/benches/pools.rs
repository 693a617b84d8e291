//! The pool scheduler's decision time, printing its figures (run by bench/pools.sh): one pass
//! over 20 pools with 10,000 queued jobs, on SQLite (or on `BENCH_DATABASE`, e.g. PostgreSQL),
//! with every pool at its `max`, so each pass decides everything and runs no command. Two
//! figures: passes after the queue changed (it is read again) and passes while it stays the
//! same (the last read is used).

use app::db::jobs::{self, NewJob, RunSpec};
use app::db::pools::{self, Pool};
use app::db::{projects, users, Db};
use app::runners::pool::PoolSettings;
use app::state::{AppState, RunSettings};
use server::scheduler::pools::{pass, Memory};
use std::time::Instant;

const QUEUED: usize = 10_000;
const POOLS: usize = 20;
const MACHINES_PER_POOL: usize = 4;
const PASSES: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::var("BENCH_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("pools.db").display()));
    let db = Db::open(&url).await?;
    db.migrate().await?;
    seed(&db).await?;
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts)?;
    let mut runs = RunSettings::new(app::file_store::FileStore::local(
        &dir.path().join("files"),
    )?);
    runs.pool_scripts = Some(scripts.clone());
    let state = AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("millrace")
            .build(),
        db: db.clone(),
        runs: std::sync::Arc::new(runs),
        events: app::state::event_channel(),
    };
    let memory = Memory::default();
    let (mut changed, mut same) = (Vec::with_capacity(PASSES), Vec::with_capacity(PASSES));
    for pass_number in 0..PASSES * 2 {
        // Every other pass follows a change to the queue: an event, as a queued job makes.
        let after_change = pass_number % 2 == 0;
        if after_change {
            let mut tx = db.begin().await?;
            app::db::events::append(&mut tx, "bench", None, None, &serde_json::json!({})).await?;
            tx.commit().await?;
        }
        let started = Instant::now();
        pass(&state, &scripts, &memory).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if after_change {
            changed.push(ms)
        } else {
            same.push(ms)
        }
    }
    let live = pools::live_machines(&db).await?.len();
    assert_eq!(
        live,
        POOLS * MACHINES_PER_POOL,
        "a pass at max creates nothing"
    );
    let engine = match db.backend() {
        app::db::Backend::Sqlite => "SQLite",
        app::db::Backend::Postgres => "PostgreSQL",
    };
    for (what, mut times) in [("after a queue change", changed), ("queue unchanged", same)] {
        times.sort_by(f64::total_cmp);
        println!(
            "pool scheduler pass, {QUEUED} queued jobs, {POOLS} pools of {MACHINES_PER_POOL} \
             machines ({engine}), {what}: median {:.2} ms, p90 {:.2} ms of {PASSES} (aim: under \
             10 ms)",
            times[PASSES / 2],
            times[PASSES * 9 / 10]
        );
    }
    Ok(())
}

/// 20 pools, each with its `max` of machines already asked for, and 10,000 queued jobs of one
/// to eight GPUs over their labels; a tenth need a label no pool has.
async fn seed(db: &Db) -> anyhow::Result<()> {
    let user = users::create(db, "bench", "Bench").await?;
    let project = projects::create(db, user.id, "queue", "", false).await?;
    for p in 0..POOLS {
        let settings = PoolSettings {
            labels: vec![format!("pool{p}")],
            gpus_per_machine: 8,
            gpu_model: Some("NVIDIA A100-SXM4-80GB".into()),
            gpu_memory_mib: Some(81_920),
            price_per_hour: 14.5,
            min: 0,
            max: MACHINES_PER_POOL as u32,
            idle_timeout_s: 600,
            boot_timeout_s: 86_400,
            command_timeout_s: 300,
            max_cost_per_day: None,
            create: vec!["create.sh".into()],
            delete: vec!["delete.sh".into()],
        };
        let name = format!("pool{p}");
        pools::apply(db, &name, &settings).await?;
        let pool: Pool = pools::all(db)
            .await?
            .into_iter()
            .find(|x| x.name == name)
            .unwrap();
        for m in 0..MACHINES_PER_POOL {
            let hash = format!("bench-{p}-{m}");
            pools::request(db, &pool, &format!("{name}-{m}"), &hash).await?;
        }
    }
    let mut batch = Vec::with_capacity(1000);
    for i in 0..QUEUED {
        let label = if i % 10 == 0 {
            "nowhere".to_owned()
        } else {
            format!("pool{}", i % POOLS)
        };
        batch.push(NewJob {
            name: format!("job-{i}"),
            command: "python train.py".into(),
            gpus: (i % 8 + 1) as i64,
            created_by: Some(user.id),
            run: Some(RunSpec {
                spec_name: format!("job-{i}"),
                spec_hash: format!("{i:064x}"),
                spec_json: "{}".into(),
                labels: vec![label],
                gpu_memory_mib: (i % 3 == 0).then_some(40_000),
                gpu_model: (i % 5 == 0).then(|| "a100".to_owned()),
                retries: 0,
            }),
            ..NewJob::default()
        });
        if batch.len() == 1000 {
            let mut tx = db.begin().await?;
            jobs::insert_many(&mut tx, project, &batch).await?;
            tx.commit().await?;
            batch.clear();
        }
    }
    Ok(())
}
