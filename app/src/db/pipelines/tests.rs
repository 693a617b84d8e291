//! Store tests of pipeline runs and their steps, on both backends.

use super::*;
use crate::db::jobs::{self, NewJob};
use crate::db::testing::each_backend;
use crate::db::{projects, users};

/// A user and a project: (user id, project id).
async fn project(db: &Db) -> (i64, i64) {
    let user = users::create(db, "ann", "Ann").await.unwrap();
    let project = projects::create(db, user.id, "lab", "", false)
        .await
        .unwrap();
    (user.id, project)
}

/// A running run of pipeline `name` with steps `prep` and `eval` (two instances).
async fn run(db: &Db, project: i64, name: &str) -> i64 {
    let step = |step: &str, instance| NewStep {
        step: step.into(),
        instance,
        definition: format!("def-{step}"),
    };
    let new = NewRun {
        project,
        name: name.into(),
        spec: "{}".into(),
        snapshots: "{}".into(),
        spec_hash: "h".into(),
        ..NewRun::default()
    };
    let mut tx = db.begin().await.unwrap();
    let id = create(
        &mut tx,
        &new,
        &[step("prep", 0), step("eval", 0), step("eval", 1)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Starts step `step` of `run` with a new job costing `cost`, as the driver does; the job id.
async fn start_with_job(db: &Db, project: i64, run: i64, step: &str, key: &str, cost: f64) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let job = jobs::create(
        &mut tx,
        project,
        &NewJob {
            cost_usd: Some(cost),
            ..NewJob::default()
        },
    )
    .await
    .unwrap();
    let running = Start {
        state: StepState::Running,
        cache_key: Some(key),
        job: Some(job.id),
        sweep: None,
        reason: None,
    };
    assert!(super::start(&mut tx, run, step, 0, &running).await.unwrap());
    tx.commit().await.unwrap();
    job.id
}

async fn pipeline_events(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = 'pipeline'")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_is_stored_with_waiting_steps_and_each_step_starts_once() {
    each_backend(|db| async move {
        let (_, project) = project(&db).await;
        let id = run(&db, project, "train-eval").await;
        let found = find(&db, id).await.unwrap().unwrap();
        assert_eq!(
            (
                found.project.as_str(),
                found.state(),
                found.step_count,
                found.ended_count
            ),
            ("ann/lab", RunState::Running, 3, 0)
        );
        assert_eq!(running(&db).await.unwrap(), [id]);
        assert_eq!(
            latest_named(&db, project, "train-eval")
                .await
                .unwrap()
                .unwrap()
                .id,
            id
        );
        let listed: Vec<(String, i64)> = steps(&db, id)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.step, s.instance))
            .collect();
        assert_eq!(
            listed,
            [("eval".into(), 0), ("eval".into(), 1), ("prep".into(), 0)]
        );

        let job = start_with_job(&db, project, id, "prep", "k1", 2.5).await;
        // A second start of the same step (a restarted driver's) changes nothing.
        let mut tx = db.begin().await.unwrap();
        let again = Start {
            state: StepState::Cached,
            cache_key: Some("k1"),
            job: Some(job),
            sweep: None,
            reason: None,
        };
        assert!(!super::start(&mut tx, id, "prep", 0, &again).await.unwrap());
        tx.rollback().await.unwrap();
        let prep = steps(&db, id).await.unwrap().pop().unwrap();
        assert_eq!((prep.state(), prep.job_id), (StepState::Running, Some(job)));
        assert!(prep.started_ms.is_some() && prep.finished_ms.is_none());
        assert!(
            pipeline_events(&db).await >= 2,
            "create and start each tell live views"
        );
    })
    .await;
}

#[tokio::test]
async fn a_succeeded_step_is_found_by_its_cache_key_in_the_same_pipeline_only() {
    each_backend(|db| async move {
        let (_, project) = project(&db).await;
        let first = run(&db, project, "train-eval").await;
        let job = start_with_job(&db, project, first, "prep", "k1", 2.5).await;
        assert_eq!(
            cached(&db, project, "train-eval", "k1").await.unwrap(),
            None
        );
        let mut tx = db.begin().await.unwrap();
        assert!(
            end_step(&mut tx, first, "prep", 0, StepState::Succeeded, None)
                .await
                .unwrap()
        );
        assert!(
            !end_step(&mut tx, first, "prep", 0, StepState::Failed, None)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let hit = cached(&db, project, "train-eval", "k1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((hit.job_id, hit.sweep_id), (Some(job), None));
        assert_eq!(
            hit.job_uid.map(|u| u.len()),
            Some(32),
            "with the job's global id"
        );
        assert_eq!(cached(&db, project, "other", "k1").await.unwrap(), None);
        assert_eq!(
            cached(&db, project, "train-eval", "k2").await.unwrap(),
            None
        );

        // A second run reuses the job: it costs nothing again.
        let second = run(&db, project, "train-eval").await;
        let mut tx = db.begin().await.unwrap();
        let cached = Start {
            state: StepState::Cached,
            cache_key: Some("k1"),
            job: Some(job),
            sweep: None,
            reason: None,
        };
        assert!(super::start(&mut tx, second, "prep", 0, &cached)
            .await
            .unwrap());
        tx.commit().await.unwrap();
        let costs = |id| {
            let db = db.clone();
            async move { find(&db, id).await.unwrap().unwrap().cost_usd }
        };
        assert_eq!(costs(first).await, Some(2.5));
        assert_eq!(costs(second).await, None);
        let row = steps(&db, second).await.unwrap().pop().unwrap();
        assert_eq!((row.state(), row.job_id), (StepState::Cached, Some(job)));
        assert!(row.finished_ms.is_some(), "a cached step ends as it starts");
    })
    .await;
}

#[tokio::test]
async fn ending_a_run_cancels_what_waits_and_happens_once() {
    each_backend(|db| async move {
        let (_, project) = project(&db).await;
        let id = run(&db, project, "p").await;
        start_with_job(&db, project, id, "prep", "k", 1.0).await;
        let mut tx = db.begin().await.unwrap();
        assert!(
            end(&mut tx, id, RunState::Cancelled, Some("cancelled by ann"))
                .await
                .unwrap()
        );
        assert!(!end(&mut tx, id, RunState::Failed, None).await.unwrap());
        tx.commit().await.unwrap();
        let found = find(&db, id).await.unwrap().unwrap();
        assert_eq!((found.state(), found.ended_count), (RunState::Cancelled, 3));
        assert!(steps(&db, id)
            .await
            .unwrap()
            .iter()
            .all(|s| s.state() == StepState::Cancelled
                && s.reason.as_deref() == Some("cancelled by ann")));
        assert!(running(&db).await.unwrap().is_empty());
    })
    .await;
}
