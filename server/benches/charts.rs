//! Chart downsampling on SQLite, printing its figures (run by bench/charts.sh): one series of
//! 10,000,000 points, read from the store and downsampled to a 2,000-pixel panel, and the size
//! of what the panel's server function sends.

use app::chart::downsample::downsample;
use app::db::metrics::{self, Point};
use app::db::{jobs, projects, users, Db};
use std::time::Instant;

const POINTS: i64 = 10_000_000;
const WIDTH: usize = 2_000;
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = dirs_cache().join(format!("millrace-bench-charts-{POINTS}.db"));
    let fresh = !path.exists();
    let db = Db::open(&format!("sqlite://{}", path.display())).await?;
    db.migrate().await?;
    if fresh {
        fill(&db).await?;
    }
    let series: i64 = sqlx::query_scalar("SELECT id FROM metric_series LIMIT 1")
        .fetch_one(db.pool())
        .await?;
    let (mut reads, mut downs) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut conn = db.pool().acquire().await?;
        let points = metrics::points(&mut conn, series).await?;
        let read = started.elapsed();
        let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.step as f64, p.value)).collect();
        let started = Instant::now();
        let panel = downsample(&xy, WIDTH);
        downs.push(started.elapsed().as_secs_f64() * 1000.0);
        reads.push(read.as_secs_f64() * 1000.0);
        bytes = serde_json::to_vec(&panel)?.len();
    }
    reads.sort_by(f64::total_cmp);
    downs.sort_by(f64::total_cmp);
    println!(
        "{POINTS} points: read from SQLite median {:.0} ms; downsample to {WIDTH} px (LTTB + \
         envelope) median {:.0} ms (aim: both under 100 ms); panel JSON {} KB (aim: under 200 KB)",
        reads[RUNS / 2],
        downs[RUNS / 2],
        bytes / 1024
    );
    Ok(())
}

fn dirs_cache() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| ".".into(), std::path::PathBuf::from);
    let dir = home.join(".cache");
    std::fs::create_dir_all(&dir).expect("a cache directory");
    dir
}

/// One job with one 10,000,000-point series, appended in batches as a training run would.
async fn fill(db: &Db) -> anyhow::Result<()> {
    let user = users::create(db, "bench", "Bench").await?;
    let project = projects::create(db, user.id, "charts", "", false).await?;
    let mut tx = db.begin().await?;
    let job = jobs::insert_many(&mut tx, project, &[jobs::NewJob::default()])
        .await?
        .remove(0);
    tx.commit().await?;
    let started = Instant::now();
    for chunk in (0..POINTS).collect::<Vec<_>>().chunks(100_000) {
        let points: Vec<Point> = chunk
            .iter()
            .map(|&i| Point {
                step: i,
                wall_ms: 1_700_000_000_000 + i,
                value: (i as f64 / 50_000.0).sin() / (1.0 + i as f64 / 1e6)
                    + (i % 97) as f64 * 1e-3,
            })
            .collect();
        let mut tx = db.begin().await?;
        metrics::append(&mut tx, project, job.id, "loss", &points).await?;
        tx.commit().await?;
    }
    println!("filled {POINTS} points in {:.0?}", started.elapsed());
    Ok(())
}
