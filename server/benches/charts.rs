//! Chart downsampling on SQLite, printing its figures (run by bench/charts.sh): one series of
//! 10,000,000 points made into a 2,000-pixel panel from its rollups (what the panel does for
//! series this long), and for comparison by reading every point; the panel's size; and the
//! metrics tab's panel read with x = step, wall and relative time.

use app::chart::downsample::downsample;
use app::chart::settings::{ChartSettings, PanelSize, XAxis};
use app::db::metrics::{self, Point};
use app::db::{jobs, projects, rollups, users, Db};
use app::metrics::service::{from_rollups, series_panel};
use std::time::{Duration, Instant};

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
    // What the panel does for a series this long: its rollups, merged to one group per pixel.
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut conn = db.pool().acquire().await?;
        let rollups = rollups::read(&mut conn, series, i64::MIN, i64::MAX).await?;
        let panel =
            from_rollups("loss", &rollups, WIDTH, 0.0, XAxis::Step, 0).expect("enough rollups");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = serde_json::to_vec(&panel)?.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{POINTS} points to a {WIDTH}-pixel panel from the series' rollups: median {:.1} ms of \
         {RUNS} (aim: under 100 ms); panel JSON {} KB (aim: under 200 KB)",
        times[RUNS / 2],
        bytes / 1024
    );
    panels_by_axis(&db).await?;
    // For comparison: every point read through the driver, then LTTB + envelope in Rust.
    let started = Instant::now();
    let mut conn = db.pool().acquire().await?;
    let points = metrics::points(&mut conn, series).await?;
    let read = started.elapsed();
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.step as f64, p.value)).collect();
    let started = Instant::now();
    let panel = downsample(&xy, WIDTH);
    println!(
        "for comparison, every point read through the driver: {:.0} ms, then LTTB + envelope \
         {:.0} ms ({} points drawn)",
        read.as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0,
        panel.line.len()
    );
    Ok(())
}

/// The metrics tab's read of the series (a large panel) with x by step, wall clock and relative
/// time: the median of up to RUNS reads, fewer if they are slow.
async fn panels_by_axis(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    let job: i64 = sqlx::query_scalar("SELECT job_id FROM metric_series LIMIT 1")
        .fetch_one(&mut *conn)
        .await?;
    let summary = metrics::summaries(&mut conn, job).await?.remove(0);
    for x in [XAxis::Step, XAxis::Wall, XAxis::Relative] {
        let settings = ChartSettings {
            x,
            size: PanelSize::Large,
            ..ChartSettings::default()
        };
        let mut times = Vec::new();
        let started = Instant::now();
        while times.len() < RUNS && started.elapsed() < Duration::from_secs(10) {
            let run = Instant::now();
            series_panel(&mut conn, &summary, &settings).await?;
            times.push(run.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "metrics tab, {POINTS}-point series, x={}: median {:.1} ms of {} reads",
            x.word(),
            times[times.len() / 2],
            times.len()
        );
    }
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
