//! Keyset pagination of the jobs column on both backends: every sort, both directions.

use super::*;
use crate::db::cursor::BadCursor;
use crate::db::metrics::{self, Point};
use crate::db::{projects, testing::each_backend, users};
use std::collections::HashSet;

const JOBS: i64 = 240;
const STATUSES: [JobStatus; 4] = [
    JobStatus::Running,
    JobStatus::Succeeded,
    JobStatus::Failed,
    JobStatus::Queued,
];

/// Jobs with many ties in every sort key, so the tie-breaker is exercised.
fn fixture(i: i64) -> NewJob {
    let started = 1_000 + i % 5;
    NewJob {
        name: format!("run-{}", i % 17),
        status: Some(STATUSES[(i % 4) as usize]),
        created_ms: Some(1_000_000 + i / 3),
        started_ms: Some(started),
        finished_ms: (i % 4 != 0).then_some(started + (i * 7) % 11),
        tags: if i % 5 == 0 {
            vec![("baseline".into(), String::new())]
        } else {
            vec![]
        },
        ..NewJob::default()
    }
}

struct Seeded {
    project: i64,
    jobs: Vec<(JobRef, NewJob, Option<f64>)>,
}

async fn seed(db: &Db) -> Seeded {
    let user = users::create(db, "owner", "Owner").await.unwrap();
    let project = projects::create(db, user.id, "keyset", "", false)
        .await
        .unwrap();
    let specs: Vec<NewJob> = (0..JOBS).map(fixture).collect();
    let mut tx = db.begin().await.unwrap();
    let refs = insert_many(&mut tx, project, &specs).await.unwrap();
    let mut jobs = Vec::new();
    for (i, (r, spec)) in refs.into_iter().zip(specs).enumerate() {
        // Two thirds of the jobs log the metric, with ties.
        let last = (i % 3 != 0).then(|| (i % 13) as f64 * 0.5);
        if let Some(value) = last {
            let points = [Point {
                step: 1,
                wall_ms: 1,
                value,
            }];
            metrics::append(&mut tx, project, r.id, "val/auc", &points)
                .await
                .unwrap();
        }
        jobs.push((r, spec, last));
    }
    tx.commit().await.unwrap();
    Seeded { project, jobs }
}

/// The order the database must produce, computed independently in Rust.
fn expected(seeded: &Seeded, sort: &JobSort, desc: bool) -> Vec<i64> {
    let mut rows: Vec<(String, i64, i64)> = Vec::new();
    for (r, spec, last) in &seeded.jobs {
        let duration = spec.finished_ms.map_or(0, |f| f - spec.started_ms.unwrap());
        let key = match sort {
            JobSort::Created => format!("{:020}", spec.created_ms.unwrap()),
            JobSort::Name => spec.name.clone(),
            JobSort::Status => spec.status.unwrap().code().to_string(),
            JobSort::Duration => format!("{duration:020}"),
            JobSort::Metric(_) => match last {
                Some(v) => format!("{:020}", (v * 1000.0) as i64),
                None => continue,
            },
        };
        rows.push((key, r.id, r.number));
    }
    rows.sort();
    if desc {
        rows.reverse();
    }
    rows.into_iter().map(|(_, _, number)| number).collect()
}

async fn walk(
    db: &Db,
    project: i64,
    sort: &JobSort,
    dir: SortDir,
    filter: &Filter,
    limit: u32,
) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = page(db, project, sort, dir, filter, cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items.iter().map(|j| j.number));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

fn all_sorts() -> Vec<JobSort> {
    vec![
        JobSort::Created,
        JobSort::Name,
        JobSort::Status,
        JobSort::Duration,
        JobSort::Metric("val/auc".into()),
    ]
}

#[tokio::test]
async fn walking_every_page_returns_every_job_once_in_order_for_every_sort() {
    each_backend(|db| async move {
        let seeded = seed(&db).await;
        for sort in all_sorts() {
            for dir in [SortDir::Asc, SortDir::Desc] {
                let seen = walk(&db, seeded.project, &sort, dir, &Filter::default(), 7).await;
                assert_eq!(
                    seen,
                    expected(&seeded, &sort, dir == SortDir::Desc),
                    "{sort:?} {dir:?}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn pages_stay_exact_while_jobs_are_inserted_between_them() {
    each_backend(|db| async move {
        let seeded = seed(&db).await;
        for sort in [JobSort::Created, JobSort::Name, JobSort::Duration] {
            let before: HashSet<i64> = seeded.jobs.iter().map(|(r, _, _)| r.number).collect();
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            for round in 0.. {
                let page = page(
                    &db,
                    seeded.project,
                    &sort,
                    SortDir::Desc,
                    &Filter::default(),
                    cursor.as_deref(),
                    11,
                )
                .await
                .unwrap();
                seen.extend(page.items.iter().map(|j| j.number));
                let mut tx = db.begin().await.unwrap();
                let extra = NewJob {
                    created_ms: Some(2_000_000 + round),
                    ..fixture(round)
                };
                insert_many(&mut tx, seeded.project, &[extra])
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let unique: HashSet<i64> = seen.iter().copied().collect();
            assert_eq!(unique.len(), seen.len(), "no job twice ({sort:?})");
            assert!(before.is_subset(&unique), "no job skipped ({sort:?})");
            let original: Vec<i64> = seen
                .iter()
                .copied()
                .filter(|n| before.contains(n))
                .collect();
            assert_eq!(original, expected(&seeded, &sort, true), "{sort:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn filters_by_status_tag_and_name_combine_with_paging() {
    each_backend(|db| async move {
        let seeded = seed(&db).await;
        let filter = Filter {
            text: Some("RUN-1".into()),
            statuses: vec![JobStatus::Failed, JobStatus::Queued],
            tag: Some("baseline".into()),
            archived: false,
        };
        let seen = walk(
            &db,
            seeded.project,
            &JobSort::Created,
            SortDir::Asc,
            &filter,
            3,
        )
        .await;
        let want: Vec<i64> = expected(&seeded, &JobSort::Created, false)
            .into_iter()
            .filter(|n| {
                let (_, spec, _) = seeded.jobs.iter().find(|(r, _, _)| r.number == *n).unwrap();
                spec.name.starts_with("run-1")
                    && matches!(spec.status, Some(JobStatus::Failed | JobStatus::Queued))
                    && !spec.tags.is_empty()
            })
            .collect();
        assert!(!want.is_empty());
        assert_eq!(seen, want);
    })
    .await;
}

#[tokio::test]
async fn rows_carry_tags_and_status_and_bad_cursors_are_refused() {
    each_backend(|db| async move {
        let seeded = seed(&db).await;
        let first = page(
            &db,
            seeded.project,
            &JobSort::Created,
            SortDir::Asc,
            &Filter::default(),
            None,
            5,
        )
        .await
        .unwrap();
        assert_eq!(first.items[0].number, 1);
        assert_eq!(
            first.items[0].tags,
            vec![("baseline".to_owned(), String::new())]
        );
        assert_eq!(first.items[0].status, JobStatus::Running);
        assert_eq!(first.items[0].uid.len(), 32);
        let other_sort = page(
            &db,
            seeded.project,
            &JobSort::Name,
            SortDir::Asc,
            &Filter::default(),
            first.next.as_deref(),
            5,
        )
        .await;
        assert!(matches!(other_sort, Err(PageError::Cursor(BadCursor))));
        let garbage = page(
            &db,
            seeded.project,
            &JobSort::Created,
            SortDir::Asc,
            &Filter::default(),
            Some("x"),
            5,
        )
        .await;
        assert!(matches!(garbage, Err(PageError::Cursor(BadCursor))));
    })
    .await;
}

#[tokio::test]
async fn job_numbers_count_up_per_project_and_status_changes_record_times() {
    each_backend(|db| async move {
        let seeded = seed(&db).await;
        let numbers: Vec<i64> = seeded.jobs.iter().map(|(r, _, _)| r.number).collect();
        assert_eq!(numbers, (1..=JOBS).collect::<Vec<_>>());
        let mut tx = db.begin().await.unwrap();
        let fresh = insert_many(&mut tx, seeded.project, &[NewJob::default()])
            .await
            .unwrap()
            .remove(0);
        assert_eq!(fresh.number, JOBS + 1);
        assert!(set_status(&mut tx, fresh.id, JobStatus::Running, 10_000)
            .await
            .unwrap());
        assert!(set_status(&mut tx, fresh.id, JobStatus::Succeeded, 12_500)
            .await
            .unwrap());
        tx.commit().await.unwrap();
        let by_duration = page(
            &db,
            seeded.project,
            &JobSort::Duration,
            SortDir::Desc,
            &Filter::default(),
            None,
            1,
        )
        .await
        .unwrap();
        assert_eq!(
            (
                by_duration.items[0].number,
                by_duration.items[0].duration_ms
            ),
            (JOBS + 1, 2_500)
        );
        assert_eq!(by_duration.items[0].status, JobStatus::Succeeded);
    })
    .await;
}

#[tokio::test]
async fn jobs_with_and_without_a_cost_are_stored_in_one_batch() {
    // A null float first and a number after it through one cached statement once failed on
    // PostgreSQL (see `sql::BindsOptionalFloat`).
    each_backend(|db| async move {
        let project = crate::db::testing::project(&db, "costs").await;
        let costs = [None, Some(1.5), None, Some(0.25)];
        let specs: Vec<NewJob> = costs
            .iter()
            .map(|cost| NewJob {
                cost_usd: *cost,
                ..NewJob::default()
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        insert_many(&mut tx, project, &specs).await.unwrap();
        tx.commit().await.unwrap();
        let stored: Vec<Option<f64>> =
            sqlx::query_scalar("SELECT cost_usd FROM jobs WHERE project_id = $1 ORDER BY number")
                .bind(project)
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(stored, costs);
    })
    .await;
}

#[tokio::test]
async fn a_change_to_a_jobs_artifacts_is_an_event_of_its_project() {
    each_backend(|db| async move {
        let ann = users::create(&db, "ann", "Ann").await.unwrap();
        let project = projects::create(&db, ann.id, "xray", "", false)
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let job = insert_many(&mut tx, project, &[NewJob::default()])
            .await
            .unwrap()
            .remove(0);
        tx.commit().await.unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        let before = crate::db::events::last_id(&mut conn).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        artifacts_changed(&mut tx, &job.uid, "plots/loss.png")
            .await
            .unwrap();
        // A logged model's own files belong to no job: nothing to tell.
        artifacts_changed(&mut tx, "m-0123", "MLmodel")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let seen = crate::db::events::after(&mut conn, before, 10)
            .await
            .unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].kind, "artifacts");
        assert_eq!(seen[0].project_id, Some(project));
        assert_eq!(seen[0].job_uid.as_deref(), Some(job.uid.as_str()));
        assert!(seen[0].payload.contains("plots/loss.png"));
    })
    .await;
}
