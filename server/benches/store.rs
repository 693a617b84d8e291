//! Store benchmarks on SQLite, printing their figures (run by bench/store.sh):
//! demo ingestion in points per second, and jobs-column page latency with 1,000,000 jobs.

use app::db::jobs::{self, NewJob};
use app::db::metrics::{self, Point};
use app::db::{projects, users, Db};
use app::model::{Filter, JobSort, JobStatus, SortDir};
use server::cli::DemoArgs;
use std::time::{Duration, Instant};

const JOBS: i64 = 1_000_000;
const PAGE: u32 = 50;
const DEEP_ROWS: usize = 10_000;
const SAMPLES: usize = 300;

/// Runs both parts, or the one named as an argument (`ingestion` or `pages`).
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    let dir = tempfile::tempdir()?;
    if wanted("ingestion") {
        ingestion(&dir).await?;
    }
    if wanted("pages") {
        pages(&dir).await?;
    }
    Ok(())
}

async fn fresh(dir: &tempfile::TempDir, name: &str) -> anyhow::Result<Db> {
    let db = Db::open(&format!("sqlite://{}", dir.path().join(name).display())).await?;
    db.migrate().await?;
    Ok(db)
}

/// `millrace demo` with its default workspace, three times; the median rate counts.
async fn ingestion(dir: &tempfile::TempDir) -> anyhow::Result<()> {
    let mut rates = Vec::new();
    for run in 0..3 {
        let db = fresh(dir, &format!("demo-{run}.db")).await?;
        let files = dir.path().join(format!("demo-{run}-files"));
        let files = app::file_store::FileStore::local(&files)?;
        let summary = server::demo::run(&db, &DemoArgs::defaults(), &files).await?;
        rates.push(summary.points_per_second());
        println!(
            "demo run {run}: {} points in {:.2?}",
            summary.points, summary.points_time
        );
        db.close().await;
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "demo ingestion into SQLite: median {:.0} points/s (target >= 1,000,000)",
        rates[1]
    );
    Ok(())
}

/// Page latency for every sort, first page and 10,000 rows deep, both directions.
async fn pages(dir: &tempfile::TempDir) -> anyhow::Result<()> {
    let db = fresh(dir, "pages.db").await?;
    let started = Instant::now();
    let project = fill(&db).await?;
    println!(
        "filled {JOBS} jobs (one metric each) in {:.1?}",
        started.elapsed()
    );
    println!(
        "{:<22} {:>6} {:>12} {:>12}",
        "sort", "depth", "median", "p99"
    );
    let sorts = [
        JobSort::Created,
        JobSort::Name,
        JobSort::Status,
        JobSort::Duration,
        JobSort::Metric("val/auc".into()),
    ];
    for sort in sorts {
        for dir in [SortDir::Desc, SortDir::Asc] {
            let deep = cursor_at(&db, project, &sort, dir, DEEP_ROWS).await?;
            for (depth, cursor) in [(0, None), (DEEP_ROWS, Some(deep))] {
                let times = sample(&db, project, &sort, dir, cursor.as_deref()).await?;
                let label = format!("{sort:?} {dir:?}").to_lowercase();
                println!(
                    "{label:<22} {depth:>6} {:>12.3?} {:>12.3?}",
                    percentile(&times, 50),
                    percentile(&times, 99)
                );
            }
        }
    }
    println!("targets: median < 5 ms, p99 < 20 ms");
    Ok(())
}

async fn fill(db: &Db) -> anyhow::Result<i64> {
    let owner = users::create(db, "bench", "Bench").await?;
    let project = projects::create(db, owner.id, "million", "", false).await?;
    let batch = 10_000;
    for start in (0..JOBS).step_by(batch) {
        let specs: Vec<NewJob> = (start..start + batch as i64).map(job).collect();
        let mut tx = db.begin().await?;
        let refs = jobs::insert_many(&mut tx, project, &specs).await?;
        for (i, r) in refs.iter().enumerate() {
            let value = ((start + i as i64) * 7919 % 10_007) as f64 / 10_007.0;
            metrics::append(
                &mut tx,
                project,
                r.id,
                "val/auc",
                &[Point {
                    step: 1,
                    wall_ms: 1,
                    value,
                }],
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(project)
}

fn job(i: i64) -> NewJob {
    let started = 1_600_000_000_000 + i * 1000;
    NewJob {
        name: format!("run-{:06}", (i * 7919) % 1_000_003),
        status: Some(JobStatus::ALL[(i % 7) as usize]),
        created_ms: Some(started - 5_000),
        started_ms: Some(started),
        finished_ms: Some(started + (i * 104_729) % 36_000_000),
        ..NewJob::default()
    }
}

async fn cursor_at(
    db: &Db,
    project: i64,
    sort: &JobSort,
    dir: SortDir,
    rows: usize,
) -> anyhow::Result<String> {
    let mut cursor = None;
    for _ in 0..rows / PAGE as usize {
        let page = jobs::page(
            db,
            project,
            sort,
            dir,
            &Filter::default(),
            cursor.as_deref(),
            PAGE,
        )
        .await?;
        cursor = page.next;
    }
    Ok(cursor.expect("the project has more rows than the depth"))
}

async fn sample(
    db: &Db,
    project: i64,
    sort: &JobSort,
    dir: SortDir,
    cursor: Option<&str>,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let page = jobs::page(db, project, sort, dir, &Filter::default(), cursor, PAGE).await?;
        times.push(started.elapsed());
        assert_eq!(page.items.len(), PAGE as usize);
    }
    times.sort();
    Ok(times)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}
