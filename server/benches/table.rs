//! The project table view on SQLite, printing its figures (run by bench/table.sh): 100,000
//! jobs with parameters and metrics, one page of 100 rows read at the top, the middle and the
//! end, sorted by creation time, by a metric and by a parameter; and the column chooser's key
//! search in a project with 10,000 parameter keys.

use app::db::metrics::{self, Point};
use app::db::project_keys::{self, KeyKind};
use app::db::{job_table, jobs, projects, users, Db};
use app::model::{Filter, SortDir};
use app::project_query::{Attr, Stat, TableColumn, TableQuery};
use serde_json::{json, Map};
use std::time::Instant;

const JOBS: u32 = 100_000;
const KEYS: usize = 10_000;
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = cache_dir().join(format!("millrace-bench-table-{JOBS}.db"));
    let fresh = !path.exists();
    let db = Db::open(&format!("sqlite://{}", path.display())).await?;
    db.migrate().await?;
    if fresh {
        fill(&db).await?;
    }
    let project: i64 = sqlx::query_scalar("SELECT id FROM projects WHERE name = 'table'")
        .fetch_one(db.pool())
        .await?;
    let columns = vec![
        TableColumn::Attr(Attr::Status),
        TableColumn::Param("lr".into()),
        TableColumn::Param("batch".into()),
        TableColumn::Metric("loss".into(), Stat::Last),
        TableColumn::Metric("acc".into(), Stat::Max),
    ];
    let sorts = [
        ("created", TableColumn::Attr(Attr::Created)),
        (
            "metric loss",
            TableColumn::Metric("loss".into(), Stat::Last),
        ),
        ("parameter lr", TableColumn::Param("lr".into())),
    ];
    for (name, sort) in sorts {
        let table = TableQuery {
            columns: columns.clone(),
            sort,
            dir: SortDir::Desc,
        };
        let mut line = format!("100 rows of {JOBS} jobs by {name:<12}:");
        for offset in [0, JOBS / 2, JOBS - 100] {
            let mut times = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                let page =
                    job_table::page(&db, project, &Filter::default(), &table, offset, 100).await?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(page.rows.len(), 100);
            }
            times.sort_by(f64::total_cmp);
            line.push_str(&format!(
                "  at row {offset:>6}: {:>6.1} ms",
                times[RUNS / 2]
            ));
        }
        println!("{line}  (median of {RUNS})");
    }
    let wide: i64 = sqlx::query_scalar("SELECT id FROM projects WHERE name = 'wide'")
        .fetch_one(db.pool())
        .await?;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (keys, count) = project_keys::search(&db, wide, KeyKind::Param, "param_73", 50).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(!keys.is_empty() && count > 0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "column chooser, a search among {KEYS} parameter keys: median {:.2} ms of {RUNS}",
        times[RUNS / 2]
    );
    Ok(())
}

fn cache_dir() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| ".".into(), std::path::PathBuf::from);
    let dir = home.join(".cache");
    std::fs::create_dir_all(&dir).expect("a cache directory");
    dir
}

/// 100,000 jobs with `lr`, `batch` and `seed`, each logging `loss` and `acc`; and a project
/// whose one job has 10,000 parameters.
async fn fill(db: &Db) -> anyhow::Result<()> {
    let started = Instant::now();
    let user = users::create(db, "bench", "Bench").await?;
    let project = projects::create(db, user.id, "table", "", false).await?;
    for chunk in (0..JOBS).collect::<Vec<_>>().chunks(2_000) {
        let new: Vec<jobs::NewJob> = chunk
            .iter()
            .map(|&i| jobs::NewJob {
                name: format!("run-{i}"),
                params: Map::from_iter([
                    (
                        "lr".to_owned(),
                        json!(format!("{}", 10f64.powf(-1.0 - f64::from(i % 40) / 10.0))),
                    ),
                    ("batch".to_owned(), json!(32 << (i % 4))),
                    ("seed".to_owned(), json!(i)),
                ]),
                created_ms: Some(1_700_000_000_000 + i64::from(i) * 1000),
                ..jobs::NewJob::default()
            })
            .collect();
        let mut tx = db.begin().await?;
        let refs = jobs::insert_many(&mut tx, project, &new).await?;
        for (job, i) in refs.iter().zip(chunk) {
            let loss = 1.0 / (1.0 + f64::from(*i % 1000));
            let points = [
                (
                    "loss",
                    Point {
                        step: 10,
                        wall_ms: 0,
                        value: loss,
                    },
                ),
                (
                    "acc",
                    Point {
                        step: 10,
                        wall_ms: 0,
                        value: 1.0 - loss,
                    },
                ),
            ];
            metrics::append_keyed(&mut tx, project, job.id, &points).await?;
        }
        tx.commit().await?;
    }
    let wide = projects::create(db, user.id, "wide", "", false).await?;
    let params = (0..KEYS)
        .map(|i| (format!("param_{i}"), json!(i)))
        .collect();
    let mut tx = db.begin().await?;
    jobs::insert_many(
        &mut tx,
        wide,
        &[jobs::NewJob {
            params,
            ..jobs::NewJob::default()
        }],
    )
    .await?;
    tx.commit().await?;
    println!("filled {JOBS} jobs in {:.0?}", started.elapsed());
    Ok(())
}
