//! `millrace demo` fills a real SQLite file, the same way for the same seed.

use app::db::Db;
use server::cli::DemoArgs;

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
    let summary = server::demo::run(&db, args).await.unwrap();
    (dir, db, summary)
}

/// Everything the demo wrote that a seed decides (not the random global job ids).
async fn content(args: &DemoArgs) -> (Vec<String>, server::demo::Summary) {
    let (_dir, db, summary) = demo(args).await;
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT u.name || '/' || p.name || '#' || j.number || ' ' || j.name || ' ' || j.status || ' ' ||
                j.params || ' ' || j.created_ms || ' ' || COALESCE(j.finished_ms, '-') || ' ' ||
                COALESCE(j.cost_usd, '-') || ' ' ||
                COALESCE((SELECT group_concat(s.key || '=' || s.count || ':' || COALESCE(s.last, 'nan'), ',')
                          FROM metric_series s WHERE s.job_id = j.id), '')
         FROM jobs j JOIN projects p ON p.id = j.project_id JOIN users u ON u.id = p.owner_id
         ORDER BY j.id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    (rows.into_iter().map(|(r,)| r).collect(), summary)
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
        (5, 8, 81),
        "60 jobs, the long run, and 20 trials in the sweep's own project"
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
