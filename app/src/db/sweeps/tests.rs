//! Store tests of sweeps and their trials, on both backends.

use super::*;
use crate::db::jobs::{self, NewJob};
use crate::db::metrics::{self, Point};
use crate::db::testing::each_backend;
use crate::db::{projects, users};
use serde_json::json;

/// A user, a project and a running sweep in it: (project id, sweep id).
async fn sweep(db: &Db) -> (i64, i64) {
    let user = users::create(db, "ann", "Ann").await.unwrap();
    let project = projects::create(db, user.id, "lab", "", false)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    let new = NewSweep {
        project,
        name: "lr-search".into(),
        spec: r#"{"sweep":"lr-search"}"#.into(),
        spec_hash: "h1".into(),
        snapshot: Some("abc".into()),
        seed: -7,
        cloned_from: None,
        created_by: Some(user.id),
        ..NewSweep::default()
    };
    let id = create(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    (project, id)
}

/// Queues trial `index` with its job in one transaction, as the scheduler does.
async fn add(db: &Db, project: i64, sweep: i64, index: i64) -> sqlx::Result<i64> {
    let mut tx = db.begin().await?;
    let job = jobs::create(&mut tx, project, &NewJob::default()).await?;
    let params = json!({ "lr": 0.1 * (index + 1) as f64 });
    assert!(add_trial(&mut tx, sweep, index, job.id, params.as_object().unwrap()).await?);
    tx.commit().await?;
    Ok(job.id)
}

#[tokio::test]
async fn a_sweep_is_stored_listed_and_ended_once() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        let found = find(&db, id).await.unwrap().unwrap();
        assert_eq!(
            (
                found.project.as_str(),
                found.name.as_str(),
                found.state.as_str()
            ),
            ("ann/lab", "lr-search", "running")
        );
        assert_eq!((found.seed, found.snapshot.as_deref()), (-7, Some("abc")));
        assert_eq!(running(&db).await.unwrap(), [id]);
        let listed = list_for_project(&db, project, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            latest_named(&db, project, "lr-search")
                .await
                .unwrap()
                .map(|s| s.id),
            Some(id)
        );
        assert!(latest_named(&db, project, "other").await.unwrap().is_none());

        let mut tx = db.begin().await.unwrap();
        assert!(
            end(&mut tx, id, SweepState::Failed, Some("3 trials failed"))
                .await
                .unwrap()
        );
        assert!(!end(&mut tx, id, SweepState::Finished, None).await.unwrap());
        let job = jobs::create(&mut tx, project, &NewJob::default())
            .await
            .unwrap();
        let none = serde_json::Map::new();
        let late = add_trial(&mut tx, id, 0, job.id, &none).await.unwrap();
        assert!(!late, "an ended sweep takes no trial");
        tx.commit().await.unwrap();
        let ended = find(&db, id).await.unwrap().unwrap();
        assert_eq!(ended.state, "failed");
        assert_eq!(ended.reason.as_deref(), Some("3 trials failed"));
        assert!(ended.finished_ms.is_some());
        assert!(running(&db).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_trial_index_is_taken_once_and_a_refused_trial_leaves_no_job() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        add(&db, project, id, 0).await.unwrap();
        add(&db, project, id, 1).await.unwrap();
        assert!(add(&db, project, id, 1).await.is_err());
        let trials = trials(&db, id).await.unwrap();
        assert_eq!(trials.len(), 2);
        assert_eq!(find(&db, id).await.unwrap().unwrap().trial_count, 2);
        let jobs = projects::find_visible_by_id(&db, 1, project)
            .await
            .unwrap()
            .unwrap()
            .job_count;
        assert_eq!(jobs, 2, "the job of the refused trial was rolled back");
        assert_eq!(trials[1].state(), TrialState::Queued);
        assert_eq!(trials[1].params, r#"{"lr":0.2}"#);
        assert_eq!(trials[1].job_number, 2);
    })
    .await;
}

#[tokio::test]
async fn trials_run_and_end_once_with_their_result() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        add(&db, project, id, 0).await.unwrap();
        assert!(mark_running(&db, id, 0).await.unwrap());
        assert!(!mark_running(&db, id, 0).await.unwrap());
        set_judged_to(&db, id, 0, 30).await.unwrap();
        let stopped = TrialEnd {
            state: TrialState::Stopped,
            value: Some(0.5),
            step: Some(30),
            reason: Some("median rule".into()),
        };
        let mut tx = db.begin().await.unwrap();
        assert!(end_trial(&mut tx, id, 0, &stopped).await.unwrap());
        let completed = TrialEnd {
            state: TrialState::Completed,
            ..stopped.clone()
        };
        assert!(!end_trial(&mut tx, id, 0, &completed).await.unwrap());
        tx.commit().await.unwrap();
        let trial = &trials(&db, id).await.unwrap()[0];
        assert_eq!(trial.state(), TrialState::Stopped);
        assert_eq!(
            (trial.value, trial.step, trial.judged_to),
            (Some(0.5), Some(30), Some(30))
        );
        assert_eq!(trial.reason.as_deref(), Some("median rule"));
        assert!(trial.finished_ms.is_some());
    })
    .await;
}

#[tokio::test]
async fn curves_are_each_trials_points_of_one_metric_in_step_order() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        let first = add(&db, project, id, 0).await.unwrap();
        let second = add(&db, project, id, 1).await.unwrap();
        let point = |step, value| Point {
            step,
            wall_ms: 1,
            value,
        };
        let mut tx = db.begin().await.unwrap();
        metrics::append(
            &mut tx,
            project,
            second,
            "loss",
            &[point(2, 0.2), point(1, f64::NAN)],
        )
        .await
        .unwrap();
        metrics::append(&mut tx, project, first, "loss", &[point(1, 0.9)])
            .await
            .unwrap();
        metrics::append(&mut tx, project, first, "acc", &[point(1, 0.1)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let curves = curves(&db, id, "loss").await.unwrap();
        assert_eq!(curves.len(), 3);
        assert_eq!(curves[0], (0, 1, 0.9));
        assert_eq!((curves[1].0, curves[1].1), (1, 1));
        assert!(curves[1].2.is_nan());
        assert_eq!(curves[2], (1, 2, 0.2));
    })
    .await;
}

#[tokio::test]
async fn only_running_trials_with_steps_past_their_judgement_are_due() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        let mut jobs = Vec::new();
        for index in 0..3 {
            jobs.push(add(&db, project, id, index).await.unwrap());
            assert!(mark_running(&db, id, index).await.unwrap());
        }
        let log = |job: i64, step: i64| {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                let point = Point {
                    step,
                    wall_ms: 1,
                    value: 0.5,
                };
                metrics::append(&mut tx, project, job, "loss", &[point])
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        log(jobs[0], 3).await;
        log(jobs[1], 3).await;
        assert_eq!(
            unjudged(&db, id, "loss").await.unwrap(),
            [0, 1],
            "trial 2 logged nothing"
        );
        set_judged_to(&db, id, 0, 3).await.unwrap();
        assert_eq!(unjudged(&db, id, "loss").await.unwrap(), [1]);
        log(jobs[0], 4).await;
        assert_eq!(unjudged(&db, id, "loss").await.unwrap(), [0, 1]);
        assert!(unjudged(&db, id, "acc").await.unwrap().is_empty());
        let mut tx = db.begin().await.unwrap();
        let ended = TrialEnd {
            state: TrialState::Completed,
            value: Some(0.5),
            step: Some(3),
            reason: None,
        };
        assert!(end_trial(&mut tx, id, 1, &ended).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            unjudged(&db, id, "loss").await.unwrap(),
            [0],
            "ended trials are not judged"
        );
    })
    .await;
}

#[tokio::test]
async fn outcomes_count_ended_trials_and_bound_completed_results() {
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        for index in 0..4 {
            add(&db, project, id, index).await.unwrap();
        }
        let ends = [
            (TrialState::Completed, Some(0.5)),
            (TrialState::Completed, Some(0.25)),
            (TrialState::Stopped, Some(0.01)),
        ];
        for (index, (state, value)) in ends.into_iter().enumerate() {
            let mut tx = db.begin().await.unwrap();
            let end = TrialEnd {
                state,
                value,
                step: Some(3),
                reason: None,
            };
            assert!(end_trial(&mut tx, id, index as i64, &end).await.unwrap());
            tx.commit().await.unwrap();
        }
        assert_eq!(
            outcomes_for_project(&db, project).await.unwrap(),
            vec![(id, 3, Some(0.25), Some(0.5))],
            "the stopped trial's value is no result; the queued one has not ended"
        );
        assert!(outcomes_for_project(&db, project + 1)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_trial_without_a_value_then_one_with_a_value_are_both_recorded() {
    // A null float first and a number after it through one cached statement once failed on
    // PostgreSQL (see `sql::BindsOptionalFloat`).
    each_backend(|db| async move {
        let (project, id) = sweep(&db).await;
        for index in 0..2 {
            add(&db, project, id, index).await.unwrap();
        }
        let failed = TrialEnd {
            state: TrialState::Failed,
            value: None,
            step: None,
            reason: Some("exit code 1".into()),
        };
        let completed = TrialEnd {
            state: TrialState::Completed,
            value: Some(0.25),
            step: Some(10),
            reason: None,
        };
        let mut tx = db.begin().await.unwrap();
        assert!(end_trial(&mut tx, id, 0, &failed).await.unwrap());
        assert!(end_trial(&mut tx, id, 1, &completed).await.unwrap());
        tx.commit().await.unwrap();
        let values: Vec<Option<f64>> = trials(&db, id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.value)
            .collect();
        assert_eq!(values, [None, Some(0.25)]);
    })
    .await;
}
