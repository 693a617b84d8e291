//! `millrace demo` fills a real SQLite file or PostgreSQL schema, the same way for the same seed.

mod common;

use app::db::Db;
use app::file_store::FileStore;
use common::FreshSchema;
use server::cli::DemoArgs;
use std::collections::HashMap;

fn small(seed: u64) -> DemoArgs {
    DemoArgs {
        users: 5,
        projects: 7,
        jobs: 60,
        points: 30,
        long_series: 5_000,
        seed,
        sweep_trials: 20,
        anchor_ms: Some(1_750_000_000_000),
        files: None,
    }
}

/// A fresh SQLite store in its own directory (kept alive by the returned guard), filled by the
/// demo with `args`.
async fn demo(args: &DemoArgs) -> (tempfile::TempDir, Db, server::demo::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&format!(
        "sqlite://{}",
        dir.path().join("demo.db").display()
    ))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let files = FileStore::local(&dir.path().join("files")).unwrap();
    let summary = server::demo::run(&db, args, &files).await.unwrap();
    (dir, db, summary)
}

/// Everything the demo wrote that a seed decides (not the random global job ids), one line
/// per job, read with SQL both backends speak.
async fn rows(db: &Db) -> Vec<String> {
    type Job = (
        i64,
        String,
        String,
        i64,
        String,
        i64,
        String,
        i64,
        Option<i64>,
        Option<f64>,
    );
    let jobs: Vec<Job> = sqlx::query_as(
        "SELECT j.id, u.name, p.name, j.number, j.name, j.status, j.params, j.created_ms,
                j.finished_ms, j.cost_usd
         FROM jobs j JOIN projects p ON p.id = j.project_id JOIN users u ON u.id = p.owner_id
         ORDER BY j.id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let series: Vec<(i64, String, i64, Option<f64>)> =
        sqlx::query_as("SELECT job_id, key, count, last FROM metric_series")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let mut by_job: HashMap<i64, Vec<String>> = HashMap::new();
    for (job, key, count, last) in series {
        let last = last.map_or("nan".to_owned(), |v| v.to_string());
        by_job
            .entry(job)
            .or_default()
            .push(format!("{key}={count}:{last}"));
    }
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    jobs.into_iter()
        .map(
            |(id, user, project, number, name, status, params, created, finished, cost)| {
                let mut series = by_job.remove(&id).unwrap_or_default();
                series.sort();
                format!(
                    "{user}/{project}#{number} {name} {status} {params} {created} {} {} {}",
                    or_dash(finished.map(|v| v.to_string())),
                    or_dash(cost.map(|v| v.to_string())),
                    series.join(",")
                )
            },
        )
        .collect()
}

/// The demo pipeline's runs and their steps, one line each, in order.
async fn pipeline_history(db: &Db) -> Vec<String> {
    let runs: Vec<(i64, String, Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT id, state, reason, rerun_of FROM pipeline_runs ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let mut lines = Vec::new();
    for (id, state, reason, rerun_of) in runs {
        lines.push(format!("run {id} {state} {reason:?} rerun of {rerun_of:?}"));
        for step in app::db::pipelines::steps(db, id).await.unwrap() {
            lines.push(format!(
                "  {}[{}] {} job #{:?} {:?}",
                step.step, step.instance, step.state, step.job_number, step.reason
            ));
        }
    }
    lines
}

/// The demo pool's machines and every change of them, one line each, in order.
async fn pool_history(db: &Db) -> Vec<String> {
    let changes: Vec<(String, String, i64, String, Option<f64>)> = sqlx::query_as(
        "SELECT m.name, c.state, c.at_ms, c.reason, m.idle_cost_usd
         FROM pool_changes c JOIN pool_machines m ON m.id = c.machine_id ORDER BY c.id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    changes
        .into_iter()
        .map(|(machine, state, at, reason, idle)| {
            format!("{machine} {state} {at} {reason} {idle:?}")
        })
        .collect()
}

/// What the demo wrote into a fresh SQLite file with `args`.
async fn content(args: &DemoArgs) -> (Vec<String>, server::demo::Summary) {
    let (_dir, db, summary) = demo(args).await;
    (rows(&db).await, summary)
}

#[tokio::test]
async fn the_same_seed_fills_the_same_workspace_and_another_seed_does_not() {
    let (first, summary) = content(&small(11)).await;
    let (again, _) = content(&small(11)).await;
    let (other, _) = content(&small(12)).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(
        (summary.users, summary.projects, summary.jobs),
        (5, 9, 86),
        "60 jobs, the long run, 20 trials in the sweep's own project and the pipeline's 5 jobs"
    );
    let trials: Vec<&String> = first
        .iter()
        .filter(|row| row.starts_with("alice/hpo-demo#"))
        .collect();
    assert_eq!(trials.len(), 20);
    assert!(
        trials[0].contains("val_loss=10:") && trials[0].contains("\"optimizer\""),
        "{}",
        trials[0]
    );
    assert_eq!(summary.login, "alice");
    let long = first
        .iter()
        .find(|row| row.contains("long-pretrain"))
        .expect("the long run");
    assert!(long.contains("train/loss=5000:"), "{long}");
    assert!(
        long.contains("system/gpu_7_temperature_celsius=500:")
            && long.contains("system/cpu_utilization_percentage=500:"),
        "its runner's samples, one per 10 s of its 5,000: {long}"
    );
}

#[tokio::test]
async fn the_demo_sweep_is_finished_with_every_trial_completed() {
    let (_dir, db, _) = demo(&small(5)).await;
    let (id, state): (i64, String) = sqlx::query_as("SELECT id, state FROM sweeps")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(state, "finished");
    let trials = app::db::sweeps::trials(&db, id).await.unwrap();
    assert_eq!(trials.len(), 20);
    assert!(trials
        .iter()
        .all(|t| t.state == "completed" && t.value.is_some_and(|v| v > 0.1)));
}

#[tokio::test]
async fn the_demo_sweeps_registered_trials_kept_their_files_and_count_them() {
    let (dir, db, _) = demo(&small(5)).await;
    let uids: Vec<String> = sqlx::query_scalar(
        "SELECT j.uid FROM model_versions v JOIN jobs j ON j.id = v.job_id ORDER BY v.version",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(uids.len(), 2);
    let mut total = 0;
    for uid in &uids {
        let files = FileStore::local(&dir.path().join("files")).unwrap();
        let kept = files.files_under(&files.artifacts(uid)).await.unwrap();
        let paths: Vec<&str> = kept.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "README.md",
                "config.yaml",
                "history.csv",
                "model/MLmodel",
                "model/model.pkl",
                "model/requirements.txt",
                "plots/val_loss.svg"
            ]
        );
        total += kept.iter().map(|(_, bytes)| bytes).sum::<u64>();
    }
    let owner: i64 = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 1")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let used = app::db::storage::usage(&db, owner).await.unwrap();
    assert_eq!(used, total as i64, "the files count against their owner");
}

#[tokio::test]
async fn the_demo_pipeline_failed_once_and_its_rerun_reused_the_data_and_finished() {
    let (_dir, db, _) = demo(&small(3)).await;
    let history = pipeline_history(&db).await;
    let reason = "Some(\"it needs `train`, which failed\")";
    assert_eq!(
        history,
        [
            "run 1 failed Some(\"step `train` failed\") rerun of None".to_owned(),
            format!("  evaluate[0] skipped job #None {reason}"),
            format!("  evaluate[1] skipped job #None {reason}"),
            "  prep[0] succeeded job #Some(1) None".to_owned(),
            "  train[0] failed job #Some(2) Some(\"its job failed with exit code 1: CUDA out of memory\")".to_owned(),
            "run 2 succeeded None rerun of Some(1)".to_owned(),
            "  evaluate[0] succeeded job #Some(4) None".to_owned(),
            "  evaluate[1] succeeded job #Some(5) None".to_owned(),
            "  prep[0] cached job #Some(1) None".to_owned(),
            "  train[0] succeeded job #Some(3) None".to_owned(),
        ]
    );
}

#[tokio::test]
async fn the_demo_pool_is_at_rest_with_a_history_and_a_spend() {
    let args = small(5);
    let anchor = args.anchor_ms.unwrap();
    let (_dir, db, _) = demo(&args).await;
    let pools = app::runners::fleet::list(&db, anchor).await.unwrap();
    assert_eq!(pools.len(), 1);
    let pool = &pools[0];
    assert_eq!((pool.name.as_str(), pool.machines.len()), ("a100-spot", 0));
    let ends: Vec<&str> = pool
        .history
        .iter()
        .filter(|c| c.reason == "deleted" || c.state.as_str() == "gone")
        .map(|c| c.state.as_str())
        .collect();
    assert_eq!(ends, ["gone", "failed", "lost", "gone"], "newest first");
    // Four machines' lives in the three days before the anchor, at 14.50 an hour.
    assert!(
        pool.spent_this_month > 14.5 * 8.0 && pool.spent_this_month >= pool.spent_today,
        "{} {}",
        pool.spent_this_month,
        pool.spent_today
    );
    assert!(pool.held.is_none());
}

#[tokio::test]
async fn the_demo_has_every_status_and_training_like_metrics() {
    let (rows, summary) = content(&small(3)).await;
    for status in 0..7 {
        assert!(
            rows.iter()
                .any(|r| r.split(' ').nth(2) == Some(&status.to_string())),
            "status {status}"
        );
    }
    let metric_points: u64 = summary.points;
    assert!(metric_points > 5_000, "{metric_points}");
    assert!(rows
        .iter()
        .any(|r| r.contains("val/auc=") && r.contains("lr=") && r.contains("\"optimizer\"")));
}

#[tokio::test]
async fn no_demo_job_ends_before_it_starts_or_costs_less_than_nothing() {
    let (_dir, db, _) = demo(&small(3)).await;
    let (backwards, negative): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN finished_ms < started_ms THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN cost_usd < 0 THEN 1 ELSE 0 END), 0) FROM jobs",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!((backwards, negative), (0, 0));
}

#[tokio::test]
async fn the_demo_leaves_the_planner_statistics_of_what_it_wrote() {
    let (_dir, db, summary) = demo(&small(5)).await;
    // `sqlite_stat1` exists only once ANALYZE has run; its row for jobs starts with the count.
    let stat: String = sqlx::query_scalar(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'jobs' AND idx = 'jobs_by_created'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        stat.split(' ').next(),
        Some(summary.jobs.to_string().as_str())
    );
}

#[tokio::test]
async fn postgresql_gets_the_same_workspace_as_sqlite() {
    let schema = FreshSchema::new("millrace_demo").await;
    let db = Db::open(&schema.url).await.unwrap();
    db.migrate().await.unwrap();
    // Queued jobs have no cost and finished ones do, in one transaction: the mix that once
    // failed with "incorrect binary data format in bind parameter 15".
    let files = tempfile::tempdir().unwrap();
    let files = FileStore::local(files.path()).unwrap();
    let filled = server::demo::run(&db, &small(11), &files).await;
    let on_postgres = rows(&db).await;
    let pool_on_postgres = pool_history(&db).await;
    let pipeline_on_postgres = pipeline_history(&db).await;
    // ANALYZE sets the row estimate, which is -1 on a table never analysed or vacuumed.
    let estimate: i64 = sqlx::query_scalar(
        "SELECT reltuples::BIGINT FROM pg_class WHERE oid = to_regclass(current_schema() || '.jobs')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    db.close().await;
    schema.remove().await;
    let summary = filled.expect("the demo fills PostgreSQL");
    let (_dir, sqlite, sqlite_summary) = demo(&small(11)).await;
    let on_sqlite = rows(&sqlite).await;
    assert_eq!(pool_on_postgres, pool_history(&sqlite).await);
    assert_eq!(pool_on_postgres.len(), 27, "{pool_on_postgres:#?}");
    assert_eq!(pipeline_on_postgres, pipeline_history(&sqlite).await);
    assert_eq!(
        (
            summary.users,
            summary.projects,
            summary.jobs,
            summary.points
        ),
        (
            sqlite_summary.users,
            sqlite_summary.projects,
            sqlite_summary.jobs,
            sqlite_summary.points
        )
    );
    assert_eq!(
        estimate as usize,
        on_postgres.len(),
        "jobs the planner knows of"
    );
    assert_eq!(on_postgres.len(), on_sqlite.len());
    for (pg, lite) in on_postgres.iter().zip(&on_sqlite) {
        assert_eq!(pg, lite, "the first job that differs");
    }
}
