//! Store tests of the table view's rows, on both backends.

use super::*;
use crate::db::jobs::{self, NewJob};
use crate::db::metrics::{self, Point};
use crate::db::project_keys::{self, KeyKind};
use crate::db::testing::{each_backend, project};
use serde_json::json;

/// Jobs 1..=6 with `lr` as MLflow logs it (text) or a spec gives it (a number), one without;
/// `loss` = 1 / number logged by all but job 6.
async fn fill(db: &Db) -> i64 {
    let project = project(db, "table").await;
    let lrs = [
        json!("0.01"),
        json!("1e-3"),
        json!(0.1),
        json!("2"),
        json!("warm"),
        json!(null),
    ];
    let new: Vec<NewJob> = lrs
        .iter()
        .enumerate()
        .map(|(i, lr)| NewJob {
            name: format!("run {}", i + 1),
            params: match lr {
                Value::Null => Map::new(),
                lr => {
                    Map::from_iter([("lr".to_owned(), lr.clone()), ("seed".to_owned(), json!(i))])
                }
            },
            created_ms: Some(1_000 + i as i64),
            ..NewJob::default()
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    let refs = jobs::insert_many(&mut tx, project, &new).await.unwrap();
    for job in &refs[..5] {
        let points: Vec<(&str, Point)> = (0..3)
            .map(|step| {
                let value = step as f64 + 1.0 / job.number as f64;
                (
                    "loss",
                    Point {
                        step,
                        wall_ms: 1,
                        value,
                    },
                )
            })
            .collect();
        metrics::append_keyed(&mut tx, project, job.id, &points)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    project
}

fn numbers(page: &TablePage) -> Vec<i64> {
    page.rows.iter().map(|r| r.number).collect()
}

#[tokio::test]
async fn rows_sort_by_parameters_numbers_first_and_missing_last() {
    each_backend(|db| async move {
        let project = fill(&db).await;
        let mut table = TableQuery {
            columns: vec![
                TableColumn::Param("lr".into()),
                TableColumn::Attr(Attr::Status),
            ],
            sort: TableColumn::Param("lr".into()),
            dir: SortDir::Asc,
        };
        let page = page(&db, project, &Filter::default(), &table, 0, 10)
            .await
            .unwrap();
        // 1e-3 < 0.01 < 0.1 < 2 < "warm" < (none)
        assert_eq!(numbers(&page), vec![2, 1, 3, 4, 5, 6]);
        assert_eq!(
            page.rows[0].cells,
            vec!["1e-3".to_owned(), "queued".to_owned()]
        );
        assert_eq!(
            page.rows[2].cells[0], "0.1",
            "a number parameter reads as a number"
        );
        assert_eq!(page.rows[5].cells[0], "", "no value, empty cell");
        table.dir = SortDir::Desc;
        let page = super::page(&db, project, &Filter::default(), &table, 1, 2)
            .await
            .unwrap();
        assert_eq!(
            (numbers(&page), page.total, page.offset),
            (vec![4, 3], 6, 1)
        );
    })
    .await;
}

#[tokio::test]
async fn rows_sort_by_metric_values_with_jobs_lacking_them_last() {
    each_backend(|db| async move {
        let project = fill(&db).await;
        let columns = vec![
            TableColumn::Metric("loss".into(), Stat::Last),
            TableColumn::Metric("loss".into(), Stat::Min),
        ];
        for (dir, expected) in [
            (SortDir::Asc, [5, 4, 3, 2, 1, 6]),
            (SortDir::Desc, [1, 2, 3, 4, 5, 6]),
        ] {
            let table = TableQuery {
                columns: columns.clone(),
                sort: TableColumn::Metric("loss".into(), Stat::Last),
                dir,
            };
            let page = page(&db, project, &Filter::default(), &table, 0, 10)
                .await
                .unwrap();
            assert_eq!(numbers(&page), expected.to_vec(), "{dir:?}");
        }
        // A page across the end of the jobs with a value and the start of those without.
        let table = TableQuery {
            columns: columns.clone(),
            sort: TableColumn::Metric("loss".into(), Stat::Min),
            dir: SortDir::Desc,
        };
        let page = super::page(&db, project, &Filter::default(), &table, 4, 2)
            .await
            .unwrap();
        assert_eq!(numbers(&page), vec![5, 6]);
        let page = super::page(&db, project, &Filter::default(), &table, 5, 5)
            .await
            .unwrap();
        assert_eq!(numbers(&page), vec![6]);
        let table = TableQuery {
            columns,
            ..TableQuery::default()
        };
        let page = super::page(&db, project, &Filter::default(), &table, 0, 10)
            .await
            .unwrap();
        assert_eq!(
            numbers(&page),
            vec![6, 5, 4, 3, 2, 1],
            "newest first by default"
        );
        assert_eq!(page.rows[1].cells, vec!["2.2".to_owned(), "0.2".to_owned()]);
        assert_eq!(page.rows[0].cells, vec![String::new(), String::new()]);
    })
    .await;
}

#[tokio::test]
async fn the_filter_limits_rows_and_total_and_keys_are_recorded() {
    each_backend(|db| async move {
        let project = fill(&db).await;
        let filter = Filter {
            text: Some("run 1".into()),
            ..Filter::default()
        };
        let page = page(&db, project, &filter, &TableQuery::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!((numbers(&page), page.total), (vec![1], 1));
        let (params, _) = project_keys::search(&db, project, KeyKind::Param, "", 10)
            .await
            .unwrap();
        assert_eq!(params, vec!["lr".to_owned(), "seed".to_owned()]);
        let (metrics, _) = project_keys::search(&db, project, KeyKind::Metric, "", 10)
            .await
            .unwrap();
        assert_eq!(metrics, vec!["loss".to_owned()]);
        let past_end = super::page(
            &db,
            project,
            &Filter::default(),
            &TableQuery::default(),
            50,
            10,
        )
        .await
        .unwrap();
        assert!(past_end.rows.is_empty() && past_end.total == 6);
    })
    .await;
}
