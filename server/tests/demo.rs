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
        anchor_ms: Some(1_750_000_000_000),
    }
}

/// Everything the demo wrote that a seed decides (not the random global job ids).
async fn content(args: &DemoArgs) -> (Vec<String>, server::demo::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&format!(
        "sqlite://{}",
        dir.path().join("demo.db").display()
    ))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let summary = server::demo::run(&db, args).await.unwrap();
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
        (5, 7, 61),
        "60 jobs and the long run"
    );
    assert_eq!(summary.login, "alice");
    let long = first
        .iter()
        .find(|row| row.contains("long-pretrain"))
        .expect("the long run");
    assert!(long.contains("train/loss=5000:"), "{long}");
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
