//! A page of runs ordered in SQL: MLflow's `runs/search` without a filter, sorted by a metric
//! or a time, reads the one page it answers instead of every run of its experiments.

use super::jobs::{Job, JOB_TABLES, SELECT_JOB};
use super::sql::{Arg, Sql};
use super::{Backend, Db};

/// What runs are ordered by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunKey {
    /// A metric's latest value; runs without it come last, NaN after every number.
    Metric(String),
    /// When it started (when it was created, until then).
    StartTime,
    /// When it ended (0 until then).
    EndTime,
    /// Its name, by bytes.
    Name,
    /// When it was created.
    Created,
}

/// One term of an order: a key and its direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOrder {
    /// What is compared.
    pub key: RunKey,
    /// Largest first.
    pub descending: bool,
}

/// The runs of `projects` (live ones, archived ones, or both when `archived` is `None`) in
/// `order`, then latest start first, then newest: at most `limit` from `offset`.
pub async fn page(
    db: &Db,
    projects: &[i64],
    archived: Option<bool>,
    order: &[RunOrder],
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<Job>> {
    if projects.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(SELECT_JOB);
    sql.push(JOB_TABLES);
    let mut sorts = Vec::new();
    for (i, term) in order.iter().enumerate() {
        let asc = if term.descending { "DESC" } else { "ASC" };
        match &term.key {
            RunKey::Metric(key) => {
                let key = sql.arg(Arg::Text(key.clone()));
                sql.push(&format!(
                    " LEFT JOIN metric_series m{i} ON m{i}.job_id = j.id AND m{i}.key = {key}"
                ));
                // NaN is stored as NULL and is the largest value, as f64::total_cmp has it.
                sorts.push(format!("(m{i}.job_id IS NULL) ASC"));
                sorts.push(format!("(m{i}.last IS NULL) {asc}"));
                sorts.push(format!("m{i}.last {asc}"));
            }
            RunKey::StartTime => sorts.push(format!("COALESCE(j.started_ms, j.created_ms) {asc}")),
            RunKey::EndTime => sorts.push(format!("COALESCE(j.finished_ms, 0) {asc}")),
            RunKey::Name => {
                // Byte order, as Rust compares strings; PostgreSQL's default follows the locale.
                let collate = match db.backend() {
                    Backend::Postgres => " COLLATE \"C\"",
                    Backend::Sqlite => "",
                };
                sorts.push(format!("j.name{collate} {asc}"));
            }
            RunKey::Created => sorts.push(format!("j.created_ms {asc}")),
        }
    }
    // MLflow's tiebreak: latest start, then run id in byte order.
    sorts.push("COALESCE(j.started_ms, j.created_ms) DESC".into());
    sorts.push(match db.backend() {
        Backend::Postgres => "j.uid COLLATE \"C\" ASC".into(),
        Backend::Sqlite => "j.uid ASC".into(),
    });
    // Ids are integers the caller resolved from the database, so listing them inline is safe.
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    sql.push(&format!(" WHERE j.project_id IN ({})", ids.join(", ")));
    if let Some(archived) = archived {
        sql.push(&format!(" AND j.archived = {}", i64::from(archived)));
    }
    let limit = sql.arg(Arg::Int(limit));
    let offset = sql.arg(Arg::Int(offset));
    sql.push(&format!(
        " ORDER BY {} LIMIT {limit} OFFSET {offset}",
        sorts.join(", ")
    ));
    sql.query_as::<Job>().fetch_all(db.pool()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob};
    use crate::db::metrics::{self, Point};
    use crate::db::{projects, testing::each_backend, users};
    use std::cmp::Ordering;

    /// A run as the oracle sees it: name, start, end, loss (None: no metric; NaN kept).
    type Made = (String, i64, Option<i64>, Option<f64>);

    fn made_runs() -> Vec<Made> {
        let loss = [
            Some(0.5),
            None,
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(-2.0),
            Some(0.5),
            Some(f64::NEG_INFINITY),
            None,
            Some(0.25),
            Some(f64::NAN),
            Some(1e-300),
            Some(0.5),
        ];
        loss.iter()
            .enumerate()
            .map(|(i, &loss)| {
                let name = ["b", "a", "B", "é", "a", "c"][i % 6].to_owned();
                let start = 1_000 + (i as i64 % 4) * 10;
                let end = (i % 3 != 0).then_some(5_000 + i as i64);
                (name, start, end, loss)
            })
            .collect()
    }

    /// The order `runs/search` has always had in Rust: each term (missing values last, NaN
    /// largest), then latest start, then run id (MLflow's tiebreak).
    fn oracle(runs: &[(String, Made)], order: &[RunOrder]) -> Vec<String> {
        let mut sorted: Vec<&(String, Made)> = runs.iter().collect();
        sorted.sort_by(|(ia, a), (ib, b)| {
            for term in order {
                let ordering = match &term.key {
                    RunKey::Metric(_) => match (a.3, b.3) {
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        (Some(_), None) => return Ordering::Less,
                        (None, Some(_)) => return Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    },
                    RunKey::StartTime | RunKey::Created => a.1.cmp(&b.1),
                    RunKey::EndTime => a.2.unwrap_or(0).cmp(&b.2.unwrap_or(0)),
                    RunKey::Name => a.0.cmp(&b.0),
                };
                let ordering = if term.descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            b.1.cmp(&a.1).then(ia.cmp(ib))
        });
        sorted.into_iter().map(|(uid, _)| uid.clone()).collect()
    }

    #[tokio::test]
    async fn pages_come_in_the_order_the_search_has_always_had() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let project = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let mut made = Vec::new();
            let mut tx = db.begin().await.unwrap();
            for run in made_runs() {
                let new = NewJob {
                    name: run.0.clone(),
                    created_ms: Some(run.1),
                    started_ms: Some(run.1),
                    finished_ms: run.2,
                    ..NewJob::default()
                };
                let made_job = jobs::insert_many(&mut tx, project, &[new]).await.unwrap();
                let id = made_job[0].id;
                if let Some(value) = run.3 {
                    let point = Point {
                        step: 0,
                        wall_ms: 1,
                        value,
                    };
                    metrics::append(&mut tx, project, id, "loss", &[point])
                        .await
                        .unwrap();
                }
                made.push((made_job[0].uid.clone(), run));
            }
            tx.commit().await.unwrap();
            let term = |key: RunKey, descending| RunOrder { key, descending };
            let loss = || RunKey::Metric("loss".into());
            let orders = [
                vec![],
                vec![term(loss(), false)],
                vec![term(loss(), true)],
                vec![term(RunKey::Name, false)],
                vec![term(RunKey::EndTime, true), term(RunKey::Name, false)],
                vec![term(RunKey::StartTime, false), term(loss(), true)],
                vec![term(RunKey::Created, true)],
            ];
            for order in orders {
                let page = page(&db, &[project], Some(false), &order, 0, 100)
                    .await
                    .unwrap();
                let got: Vec<String> = page.iter().map(|j| j.uid.clone()).collect();
                let want = oracle(&made, &order);
                assert_eq!(got, want, "{order:?}");
                let middle = super::page(&db, &[project], None, &order, 3, 4)
                    .await
                    .unwrap();
                let got: Vec<String> = middle.iter().map(|j| j.uid.clone()).collect();
                assert_eq!(got, want[3..7], "a page from the middle, {order:?}");
            }
            let none = super::page(&db, &[project], Some(true), &[], 0, 100)
                .await
                .unwrap();
            assert!(none.is_empty(), "no run is archived");
        })
        .await;
    }
}
