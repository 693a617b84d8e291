//! Store tests of the queue, on both backends.

use super::*;
use crate::db::jobs::{NewJob, RunSpec};
use crate::db::runners::{self, Registration};
use crate::db::testing::each_backend;
use crate::db::{projects, users};

/// A user and project; returns (user id, project id).
async fn workspace(db: &Db) -> (i64, i64) {
    let user = users::create(db, "ann", "Ann").await.unwrap();
    let project = projects::create(db, user.id, "queue", "", false)
        .await
        .unwrap();
    (user.id, project)
}

/// Queues jobs asking for `gpus` GPUs and `labels`, with `retries`; returns their uids.
async fn enqueue(db: &Db, user: i64, project: i64, jobs: &[(i64, &[&str], i64)]) -> Vec<String> {
    let runs = jobs.iter().map(|(gpus, labels, retries)| {
        let run = RunSpec {
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            retries: *retries,
            ..RunSpec::default()
        };
        (*gpus, run)
    });
    let refs = enqueue_runs(db, user, project, runs.collect()).await;
    refs.into_iter().map(|r| r.uid).collect()
}

/// Queues a job of `gpus` GPUs for each run spec (named `job-0`, `job-1`, ...).
async fn enqueue_runs(
    db: &Db,
    user: i64,
    project: i64,
    runs: Vec<(i64, RunSpec)>,
) -> Vec<jobs::JobRef> {
    let new: Vec<NewJob> = runs
        .into_iter()
        .enumerate()
        .map(|(i, (gpus, run))| NewJob {
            name: format!("job {i}"),
            gpus,
            created_by: Some(user),
            run: Some(RunSpec {
                spec_name: format!("job-{i}"),
                spec_hash: "h".into(),
                spec_json: "{}".into(),
                ..run
            }),
            ..NewJob::default()
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    let refs = jobs::insert_many(&mut tx, project, &new).await.unwrap();
    tx.commit().await.unwrap();
    refs
}

async fn runner(db: &Db, name: &str, gpus: &[&str], labels: &[&str]) -> Runner {
    let token = runners::create_token(db, name, &format!("hash-{name}"))
        .await
        .unwrap();
    let registration = Registration {
        name: name.to_owned(),
        hostname: "host".into(),
        gpus: gpus.iter().map(|g| (*g).to_owned()).collect(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        max_jobs: 4,
        ..Default::default()
    };
    runners::register(db, token, &registration)
        .await
        .unwrap()
        .expect("each test runner has a name of its own")
}

fn ids(gpus: &[&str]) -> Vec<String> {
    gpus.iter().map(|g| (*g).to_owned()).collect()
}

async fn status_of(db: &Db, uid: &str) -> (JobStatus, Option<String>) {
    let (status, error): (i64, Option<String>) =
        sqlx::query_as("SELECT status, error FROM jobs WHERE uid = $1")
            .bind(uid)
            .fetch_one(db.pool())
            .await
            .unwrap();
    (JobStatus::from_code(status).unwrap(), error)
}

#[tokio::test]
async fn a_runner_leases_the_oldest_job_that_fits_its_gpus_and_labels() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(
            &db,
            user,
            project,
            &[
                (4, &[], 0),
                (1, &["a100"], 0),
                (1, &["a100", "spot"], 0),
                (2, &[], 0),
            ],
        )
        .await;
        let small = runner(&db, "small", &["0", "1"], &["a100"]).await;
        let depth = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
            pairs.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect()
        };
        assert_eq!(
            depth_by_label(&db).await.unwrap(),
            depth(&[("", 2), ("a100", 2), ("spot", 1)])
        );

        let first = lease(&db, &small, &ids(&["0", "1"]), 30_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.uid, uids[1], "4 GPUs do not fit, a100 does");
        assert_eq!((first.gpu_ids.as_str(), first.attempt), ("0", 1));
        assert!(first.token.as_deref().is_some_and(|t| t.starts_with("mr_")));
        let second = lease(&db, &small, &ids(&["1"]), 30_000).await.unwrap();
        assert_eq!(second, None, "job 2 needs spot, job 3 needs 2 GPUs");
        let second = lease(&db, &small, &ids(&["1", "7"]), 30_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (second.uid.as_str(), second.gpu_ids.as_str()),
            (uids[3].as_str(), "1,7")
        );
        assert_eq!(status_of(&db, &uids[1]).await.0, JobStatus::Starting);
        assert_eq!(
            depth_by_label(&db).await.unwrap(),
            depth(&[("", 1), ("a100", 1), ("spot", 1)]),
            "leased jobs leave the queue"
        );
    })
    .await;
}

#[tokio::test]
async fn jobs_asking_for_gpu_memory_or_a_model_get_only_gpus_that_have_them() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        // (GPUs, least MiB per GPU, model) of jobs 0 to 4, queued in that order.
        let needs: [(i64, Option<i64>, Option<&str>); 5] = [
            (1, Some(76_294), None),
            (2, None, Some("a100")),
            (1, None, Some("t4")),
            (1, Some(1), Some("h100")),
            (1, None, None),
        ];
        let runs = needs.iter().map(|(gpus, memory_mib, model)| {
            let run = RunSpec {
                gpu_memory_mib: *memory_mib,
                gpu_model: model.map(str::to_owned),
                ..RunSpec::default()
            };
            (*gpus, run)
        });
        let jobs = enqueue_runs(&db, user, project, runs.collect()).await;
        let token = runners::create_token(&db, "mixed", "hash-mixed")
            .await
            .unwrap();
        let gpu = |id: &str, name: &str, memory_mib| Gpu {
            id: id.into(),
            name: name.into(),
            memory_mib,
            uuid: format!("GPU-{id}"),
        };
        let mixed = Registration {
            name: "mixed".into(),
            hostname: "host".into(),
            gpus: ids(&["0", "1", "2"]),
            gpu_models: vec![
                gpu("0", "NVIDIA A100-SXM4-80GB", 81_920),
                gpu("1", "NVIDIA A100-PCIE-40GB", 40_536),
                gpu("2", "Tesla T4", 15_360),
            ],
            max_jobs: 4,
            ..Default::default()
        };
        let mixed = runners::register(&db, token, &mixed)
            .await
            .unwrap()
            .unwrap();
        let leased = |free: &'static [&'static str]| {
            let (db, mixed) = (db.clone(), mixed.clone());
            async move {
                lease(&db, &mixed, &ids(free), 30_000)
                    .await
                    .unwrap()
                    .map(|l| (l.uid, l.gpu_ids))
            }
        };
        let uid = |i: usize| jobs[i].uid.clone();

        assert_eq!(
            leased(&["1", "2"]).await,
            Some((uid(2), "2".into())),
            "job 0 needs the 80 GB card, job 1 two A100s"
        );
        assert_eq!(
            leased(&["1", "0"]).await,
            Some((uid(0), "0".into())),
            "the free GPU that has the memory, not the first free one"
        );
        assert_eq!(leased(&["1"]).await, Some((uid(4), "1".into())));
        assert_eq!(leased(&["1"]).await, None, "two A100s, or an H100");

        let plain = runner(&db, "plain", &["0", "1"], &[]).await;
        let none = lease(&db, &plain, &ids(&["0", "1"]), 30_000).await.unwrap();
        assert_eq!(
            none, None,
            "an undescribed GPU has no known model or memory"
        );

        let mut tx = db.begin().await.unwrap();
        let again = rerun(&mut tx, jobs[3].id, user).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let copied: (Option<i64>, Option<String>) =
            sqlx::query_as("SELECT gpu_memory_mib, gpu_model FROM jobs WHERE id = $1")
                .bind(again.id)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            copied,
            (Some(1), Some("h100".into())),
            "a rerun keeps the needs"
        );
    })
    .await;
}

#[tokio::test]
async fn a_start_reported_as_the_job_finishes_never_makes_it_running_again() {
    // The runner says "started" from a task of its own: for a job that ends at once its
    // "finished" can reach the server first, or at the same moment.
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let quick = runner(&db, "quick", &[], &[]).await;
        let succeeded = Outcome {
            status: JobStatus::Succeeded,
            exit_code: Some(0),
            error: None,
        };
        for round in 0..60 {
            let uid = enqueue(&db, user, project, &[(0, &[], 0)]).await.remove(0);
            lease(&db, &quick, &[], 30_000).await.unwrap().unwrap();
            let (_, finished) = tokio::join!(
                started(&db, quick.id, &uid),
                finish(&db, quick.id, &uid, &succeeded, None)
            );
            assert!(finished.unwrap());
            let status = status_of(&db, &uid).await.0;
            assert_eq!(status, JobStatus::Succeeded, "round {round}");
        }
    })
    .await;
}

#[tokio::test]
async fn concurrent_runners_never_lease_the_same_job() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let jobs: Vec<(i64, &[&str], i64)> = (0..30).map(|_| (0, &[][..], 0)).collect();
        enqueue(&db, user, project, &jobs).await;
        let mut tasks = Vec::new();
        for r in 0..6 {
            let runner = runner(&db, &format!("r{r}"), &[], &[]).await;
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(lease) = lease(&db, &runner, &[], 30_000).await.unwrap() {
                    got.push(lease.uid);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        let leased = all.len();
        all.sort();
        all.dedup();
        assert_eq!((leased, all.len()), (30, 30));
    })
    .await;
}

#[tokio::test]
async fn heartbeats_renew_leases_and_carry_cancel_requests() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(&db, user, project, &[(0, &[], 0), (0, &[], 0)]).await;
        let r = runner(&db, "r", &[], &[]).await;
        let other = runner(&db, "other", &[], &[]).await;
        lease(&db, &r, &[], 30_000).await.unwrap().unwrap();
        lease(&db, &r, &[], 30_000).await.unwrap().unwrap();
        assert!(started(&db, r.id, &uids[0]).await.unwrap());
        assert!(!started(&db, other.id, &uids[1]).await.unwrap());

        let job: i64 = sqlx::query_scalar("SELECT id FROM jobs WHERE uid = $1")
            .bind(&uids[1])
            .fetch_one(db.pool())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(cancel(&mut tx, job).await.unwrap(), Cancel::Requested);
        tx.commit().await.unwrap();

        let beat = heartbeat(
            &db,
            r.id,
            &[uids[0].clone(), uids[1].clone(), "nope".into()],
            30_000,
        )
        .await
        .unwrap();
        let answers: Vec<Heartbeat> = beat.into_iter().map(|(_, h)| h).collect();
        assert_eq!(
            answers,
            [Heartbeat::Continue, Heartbeat::Cancel, Heartbeat::Gone]
        );
        let theirs = heartbeat(&db, other.id, &uids[..1], 30_000).await.unwrap();
        assert_eq!(theirs[0].1, Heartbeat::Gone, "another runner's lease");
    })
    .await;
}

#[tokio::test]
async fn resent_output_is_stored_once_with_its_metric_points() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(&db, user, project, &[(0, &[], 0)]).await;
        let r = runner(&db, "r", &[], &[]).await;
        lease(&db, &r, &[], 30_000).await.unwrap().unwrap();
        let point = |line: i64, step: i64| OutputPoint {
            line,
            key: "loss".into(),
            point: Point {
                step,
                wall_ms: 1,
                value: 0.5,
            },
        };
        let lines = [
            ("stdout", "a"),
            ("stdout", "loss=0.5 step=1"),
            ("stderr", "warn"),
            ("stdout", "loss=0.5 step=2"),
        ];
        let stored = append_output(&db, r.id, &uids[0], 0, &lines[..2], &[point(1, 1)])
            .await
            .unwrap();
        assert_eq!((stored.lines, stored.new_points), (2, 1));
        // The runner did not hear the answer and resends, with two more lines.
        let stored = append_output(&db, r.id, &uids[0], 0, &lines, &[point(1, 1), point(3, 2)])
            .await
            .unwrap();
        assert_eq!((stored.lines, stored.new_points), (4, 1));
        let gap = append_output(&db, r.id, &uids[0], 9, &lines, &[]).await;
        assert!(matches!(gap, Err(OutputError::Gap { stored: 4, from: 9 })));

        let job: i64 = sqlx::query_scalar("SELECT id FROM jobs WHERE uid = $1")
            .bind(&uids[0])
            .fetch_one(db.pool())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let text: String = logs::after(&mut tx, job, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(text, "a\nloss=0.5 step=1\nwarn\nloss=0.5 step=2\n");
        let summaries = metrics::summaries(&mut tx, job).await.unwrap();
        assert_eq!((summaries[0].count, summaries[0].last_step), (2, Some(2)));
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn finishing_ends_the_lease_prices_the_gpu_time_and_revokes_the_job_token() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(&db, user, project, &[(2, &[], 0)]).await;
        let r = runner(&db, "r", &["0", "1"], &[]).await;
        let leased = lease(&db, &r, &ids(&["0", "1"]), 30_000)
            .await
            .unwrap()
            .unwrap();
        let hash = crate::auth::hash_secret(leased.token.as_deref().unwrap());
        assert!(crate::db::tokens::live(&db, &hash).await.unwrap().is_some());
        started(&db, r.id, &uids[0]).await.unwrap();
        sqlx::query("UPDATE jobs SET started_ms = started_ms - 1800000 WHERE uid = $1")
            .bind(&uids[0])
            .execute(db.pool())
            .await
            .unwrap();
        let outcome = Outcome {
            status: JobStatus::Failed,
            exit_code: Some(3),
            error: None,
        };
        assert!(finish(&db, r.id, &uids[0], &outcome, Some(2.0))
            .await
            .unwrap());
        assert!(
            !finish(&db, r.id, &uids[0], &outcome, Some(2.0))
                .await
                .unwrap(),
            "once"
        );

        let (exit, cost): (Option<i64>, Option<f64>) =
            sqlx::query_as("SELECT exit_code, cost_usd FROM jobs WHERE uid = $1")
                .bind(&uids[0])
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(exit, Some(3));
        let cost = cost.unwrap();
        assert!(
            (cost - 2.0).abs() < 0.01,
            "2 GPUs for half an hour at $2: {cost}"
        );
        let total: f64 = sqlx::query_scalar("SELECT cost_usd FROM projects WHERE id = $1")
            .bind(project)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!((total - cost).abs() < 1e-9, "the project's total: {total}");
        assert!(crate::db::tokens::live(&db, &hash).await.unwrap().is_none());
        assert_eq!(
            heartbeat(&db, r.id, &uids, 1).await.unwrap()[0].1,
            Heartbeat::Gone
        );
    })
    .await;
}

#[tokio::test]
async fn expired_leases_requeue_jobs_with_retries_and_lose_the_others() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(&db, user, project, &[(0, &[], 1), (0, &[], 0)]).await;
        let r = runner(&db, "r", &[], &[]).await;
        let first = lease(&db, &r, &[], 10).await.unwrap().unwrap();
        lease(&db, &r, &[], 10).await.unwrap().unwrap();
        let expired = expire(&db, now_ms() + 1_000, |_, _| None).await.unwrap();
        assert_eq!(
            expired.iter().map(|e| e.status).collect::<Vec<_>>(),
            [JobStatus::Queued, JobStatus::Lost]
        );
        let (status, error) = status_of(&db, &uids[1]).await;
        assert_eq!(
            (status, error.as_deref()),
            (JobStatus::Lost, Some("runner r stopped reporting"))
        );
        // The requeued job is leased again, as its second try, and has no retries left.
        let again = lease(&db, &r, &[], 10).await.unwrap().unwrap();
        assert_eq!((again.uid.as_str(), again.attempt), (uids[0].as_str(), 2));
        let live = |secret: Option<String>| {
            let db = db.clone();
            async move {
                let hash = crate::auth::hash_secret(&secret.unwrap());
                crate::db::tokens::live(&db, &hash).await.unwrap().is_some()
            }
        };
        assert!(
            !live(first.token).await,
            "the first lease's token died with it"
        );
        assert!(live(again.token.clone()).await);
        let expired = expire(&db, now_ms() + 1_000, |_, _| None).await.unwrap();
        assert_eq!(expired[0].status, JobStatus::Lost);
        assert!(expire(&db, now_ms() + 1_000, |_, _| None)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn cancelling_a_queued_job_ends_it_and_tracked_jobs_cannot_be_stopped() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let uids = enqueue(&db, user, project, &[(0, &[], 0)]).await;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let tracked = jobs::insert_many(&mut tx, project, &[NewJob::default()])
            .await
            .unwrap();
        assert_eq!(cancel(&mut tx, ids[0]).await.unwrap(), Cancel::Dequeued);
        assert_eq!(
            cancel(&mut tx, ids[0]).await.unwrap(),
            Cancel::AlreadyEnded(JobStatus::Cancelled)
        );
        assert_eq!(
            cancel(&mut tx, tracked[0].id).await.unwrap(),
            Cancel::NotRun
        );
        tx.commit().await.unwrap();
        assert_eq!(status_of(&db, &uids[0]).await.0, JobStatus::Cancelled);
        let r = runner(&db, "r", &[], &[]).await;
        assert_eq!(lease(&db, &r, &[], 10).await.unwrap(), None);
    })
    .await;
}

#[test]
fn a_runner_costs_its_dearest_priced_label_or_the_default() {
    let prices = GpuPrices(
        [
            ("a100".to_owned(), 2.5),
            ("spot".to_owned(), 0.9),
            ("default".to_owned(), 1.0),
        ]
        .into_iter()
        .collect(),
    );
    let labels = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(prices.for_labels(&labels(&["spot", "a100"])), Some(2.5));
    assert_eq!(prices.for_labels(&labels(&["spot"])), Some(0.9));
    assert_eq!(prices.for_labels(&labels(&["t4"])), Some(1.0));
    assert_eq!(GpuPrices::default().for_labels(&labels(&["t4"])), None);
}

#[tokio::test]
async fn env_names_lists_the_names_a_spec_sets_but_no_value() {
    each_backend(|db| async move {
        let (user, project) = workspace(&db).await;
        let run = NewJob {
            name: "with env".into(),
            created_by: Some(user),
            run: Some(RunSpec {
                spec_name: "with-env".into(),
                spec_hash: "h".into(),
                spec_json: r#"{"command": {"shell": "x"}, "env": {"TOKEN": "s3cret", "A": "1"}}"#
                    .into(),
                ..RunSpec::default()
            }),
            ..NewJob::default()
        };
        let mut tx = db.begin().await.unwrap();
        let refs = jobs::insert_many(&mut tx, project, &[run, NewJob::default()])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(env_names(&db, refs[0].id).await.unwrap(), ["A", "TOKEN"]);
        assert!(env_names(&db, refs[1].id).await.unwrap().is_empty());
    })
    .await;
}

#[test]
fn a_lease_prints_without_its_token_or_spec() {
    let lease = Lease {
        id: 1,
        uid: "u".into(),
        number: 1,
        project: "ann/lab".into(),
        name: "job".into(),
        spec: r#"{"env": {"KEY": "sk-live"}}"#.into(),
        gpus: 0,
        attempt: 1,
        log_lines: 0,
        gpu_ids: String::new(),
        token: Some("job-token-secret".into()),
    };
    let printed = format!("{lease:?}");
    assert!(
        !printed.contains("sk-live") && !printed.contains("job-token-secret"),
        "{printed}"
    );
    assert!(printed.contains("uid: \"u\""), "{printed}");
}
