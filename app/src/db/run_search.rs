//! A page of runs filtered and ordered in SQL: MLflow's `runs/search` whose filter and order
//! SQL can evaluate reads the one page it answers instead of every run of its experiments.

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

/// A condition on runs that SQL evaluates, with the meaning MLflow's filter gives it in Rust:
/// a missing metric or tag satisfies nothing, and a metric whose latest value is NaN (stored
/// as NULL) compares as nothing but `NOT IN`.
#[derive(Clone, Debug, PartialEq)]
pub enum RunCondition {
    /// Every one holds.
    All(Vec<RunCondition>),
    /// Any one holds.
    Any(Vec<RunCondition>),
    /// Nothing holds (a field runs do not have, a number compared with text).
    Never,
    /// The run has metric `key` and its latest value passes.
    Metric(String, Test<f64>),
    /// The run has tag `key` and its value passes (byte order).
    Tag(String, Test<String>),
    /// A number column passes.
    Number(NumberColumn, Test<f64>),
    /// A text column passes (byte order).
    Text(TextColumn, Test<String>),
    /// The run's status code is one of these.
    StatusIn(Vec<i64>),
    /// The run is archived (deleted, to MLflow) or not.
    Archived(bool),
}

/// A run's number columns, as MLflow's attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberColumn {
    /// `start_time`: when it started, or was created until then.
    Start,
    /// `end_time`: when it ended, 0 until then.
    End,
    /// `created`.
    Created,
}

/// A run's text columns, as MLflow's attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextColumn {
    /// `run_name`.
    Name,
    /// `run_id`.
    Uid,
}

/// A test of one value.
#[derive(Clone, Debug, PartialEq)]
pub enum Test<T> {
    /// Compared with `op` to this.
    Compare(Comparison, T),
    /// One of these.
    In(Vec<T>),
    /// None of these.
    NotIn(Vec<T>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// Byte order for text, as Rust compares strings; PostgreSQL's default follows the locale.
fn byte_order(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Postgres => " COLLATE \"C\"",
        Backend::Sqlite => "",
    }
}

impl RunCondition {
    /// The condition as SQL on the jobs table `j`, its values added to `sql`.
    fn to_sql(&self, sql: &mut Sql, db: &Db) -> String {
        let join = |sql: &mut Sql, terms: &[RunCondition], word: &str, empty: &str| {
            let parts: Vec<String> = terms.iter().map(|t| t.to_sql(sql, db)).collect();
            match parts.is_empty() {
                true => empty.to_owned(),
                false => format!("({})", parts.join(word)),
            }
        };
        match self {
            Self::All(terms) => join(sql, terms, " AND ", "1 = 1"),
            Self::Any(terms) => join(sql, terms, " OR ", "1 = 0"),
            Self::Never => "1 = 0".into(),
            Self::Metric(key, test) => {
                let key = sql.arg(Arg::Text(key.clone()));
                // NaN is NULL: it fails every comparison and IN, and passes NOT IN.
                let passes = test.to_sql(sql, "s.last", "", Arg::Float);
                let passes = match test {
                    Test::NotIn(_) => format!("(s.last IS NULL OR {passes})"),
                    _ => passes,
                };
                format!(
                    "EXISTS (SELECT 1 FROM metric_series s \
                     WHERE s.job_id = j.id AND s.key = {key} AND {passes})"
                )
            }
            Self::Tag(key, test) => {
                let key = sql.arg(Arg::Text(key.clone()));
                let passes = test.to_sql(sql, "t.value", byte_order(db), Arg::Text);
                format!(
                    "EXISTS (SELECT 1 FROM job_tags t \
                     WHERE t.job_id = j.id AND t.key = {key} AND {passes})"
                )
            }
            Self::Number(column, test) => {
                let column = match column {
                    NumberColumn::Start => "COALESCE(j.started_ms, j.created_ms)",
                    NumberColumn::End => "COALESCE(j.finished_ms, 0)",
                    NumberColumn::Created => "j.created_ms",
                };
                test.to_sql(sql, column, "", Arg::Float)
            }
            Self::Text(column, test) => {
                let column = match column {
                    TextColumn::Name => "j.name",
                    TextColumn::Uid => "j.uid",
                };
                test.to_sql(sql, column, byte_order(db), Arg::Text)
            }
            // Codes are small integers from the model, so listing them inline is safe.
            Self::StatusIn(codes) if codes.is_empty() => "1 = 0".into(),
            Self::StatusIn(codes) => {
                let codes: Vec<String> = codes.iter().map(i64::to_string).collect();
                format!("j.status IN ({})", codes.join(", "))
            }
            Self::Archived(archived) => format!("j.archived = {}", i64::from(*archived)),
        }
    }
}

impl<T: Clone> Test<T> {
    /// The test of `column` (collated with `collate`) as SQL, its values added to `sql`.
    fn to_sql(&self, sql: &mut Sql, column: &str, collate: &str, arg: fn(T) -> Arg) -> String {
        let list = |sql: &mut Sql, items: &[T]| {
            let args: Vec<String> = items.iter().map(|v| sql.arg(arg(v.clone()))).collect();
            args.join(", ")
        };
        match self {
            Self::Compare(op, value) => {
                let value = sql.arg(arg(value.clone()));
                format!("{column}{collate} {} {value}", op.sql())
            }
            Self::In(items) if items.is_empty() => "1 = 0".into(),
            Self::NotIn(items) if items.is_empty() => "1 = 1".into(),
            Self::In(items) => format!("{column}{collate} IN ({})", list(sql, items)),
            Self::NotIn(items) => format!("{column}{collate} NOT IN ({})", list(sql, items)),
        }
    }
}

/// The runs of `projects` (live ones, archived ones, or both when `archived` is `None`) that
/// meet `condition`, in `order`, then latest start first, then run id: at most `limit` from
/// `offset`.
pub async fn page(
    db: &Db,
    projects: &[i64],
    archived: Option<bool>,
    condition: Option<&RunCondition>,
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
                sorts.push(format!("j.name{} {asc}", byte_order(db)));
            }
            RunKey::Created => sorts.push(format!("j.created_ms {asc}")),
        }
    }
    // MLflow's tiebreak: latest start, then run id in byte order.
    sorts.push("COALESCE(j.started_ms, j.created_ms) DESC".into());
    sorts.push(format!("j.uid{} ASC", byte_order(db)));
    // Ids are integers the caller resolved from the database, so listing them inline is safe.
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    sql.push(&format!(" WHERE j.project_id IN ({})", ids.join(", ")));
    if let Some(archived) = archived {
        sql.push(&format!(" AND j.archived = {}", i64::from(archived)));
    }
    if let Some(condition) = condition {
        let condition = condition.to_sql(&mut sql, db);
        sql.push(&format!(" AND {condition}"));
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

    /// A project of ann's with a job per [`made_runs`], its loss logged when it has one and a
    /// `stage` tag on three in four: the project and each run (uid, as made, stage or "").
    async fn seed(db: &Db) -> (i64, Vec<(String, Made, &'static str)>) {
        let ann = users::create(db, "ann", "Ann").await.unwrap();
        let project = projects::create(db, ann.id, "xray", "", false)
            .await
            .unwrap();
        let mut made = Vec::new();
        let mut tx = db.begin().await.unwrap();
        for (i, run) in made_runs().into_iter().enumerate() {
            let new = NewJob {
                name: run.0.clone(),
                created_ms: Some(run.1),
                started_ms: Some(run.1),
                finished_ms: run.2,
                ..NewJob::default()
            };
            let job = jobs::insert_many(&mut tx, project, &[new]).await.unwrap();
            if let Some(value) = run.3 {
                let point = Point {
                    step: 0,
                    wall_ms: 1,
                    value,
                };
                metrics::append(&mut tx, project, job[0].id, "loss", &[point])
                    .await
                    .unwrap();
            }
            let stage = ["prod", "Prod", "dev", ""][i % 4];
            if !stage.is_empty() {
                jobs::set_tag(&mut tx, job[0].id, "stage", stage)
                    .await
                    .unwrap();
            }
            made.push((job[0].uid.clone(), run, stage));
        }
        tx.commit().await.unwrap();
        (project, made)
    }

    #[tokio::test]
    async fn pages_come_in_the_order_the_search_has_always_had() {
        each_backend(|db| async move {
            let (project, seeded) = seed(&db).await;
            let made: Vec<(String, Made)> = seeded.into_iter().map(|(u, r, _)| (u, r)).collect();
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
                let page = page(&db, &[project], Some(false), None, &order, 0, 100)
                    .await
                    .unwrap();
                let got: Vec<String> = page.iter().map(|j| j.uid.clone()).collect();
                let want = oracle(&made, &order);
                assert_eq!(got, want, "{order:?}");
                let middle = super::page(&db, &[project], None, None, &order, 3, 4)
                    .await
                    .unwrap();
                let got: Vec<String> = middle.iter().map(|j| j.uid.clone()).collect();
                assert_eq!(got, want[3..7], "a page from the middle, {order:?}");
            }
            let none = super::page(&db, &[project], Some(true), None, &[], 0, 100)
                .await
                .unwrap();
            assert!(none.is_empty(), "no run is archived");
        })
        .await;
    }

    #[tokio::test]
    async fn conditions_mean_what_the_filter_means_on_both_backends() {
        each_backend(|db| async move {
            let (project, made) = seed(&db).await;
            type Oracle = fn(&(String, Made, &str)) -> bool;
            let loss = |test| RunCondition::Metric("loss".into(), test);
            let cases: Vec<(RunCondition, Oracle)> = vec![
                (loss(Test::Compare(Comparison::Lt, 0.5)), |r| {
                    r.1 .3.is_some_and(|l| l < 0.5)
                }),
                // NaN passes no comparison, not even `!=`...
                (loss(Test::Compare(Comparison::Ne, 0.5)), |r| {
                    r.1 .3.is_some_and(|l| !l.is_nan() && l != 0.5)
                }),
                // ...but it is not in any list; a run without the metric is in nothing.
                (loss(Test::NotIn(vec![0.5, 0.25])), |r| {
                    r.1 .3.is_some_and(|l| l != 0.5 && l != 0.25)
                }),
                (loss(Test::In(vec![f64::INFINITY, -2.0])), |r| {
                    r.1 .3.is_some_and(|l| l == f64::INFINITY || l == -2.0)
                }),
                // Byte order: "B" before "a", "é" after "c".
                (
                    RunCondition::Text(TextColumn::Name, Test::Compare(Comparison::Lt, "a".into())),
                    |r| r.1 .0.as_str() < "a",
                ),
                (
                    RunCondition::Text(TextColumn::Name, Test::In(vec!["é".into(), "B".into()])),
                    |r| ["é", "B"].contains(&r.1 .0.as_str()),
                ),
                (
                    RunCondition::Number(NumberColumn::End, Test::Compare(Comparison::Eq, 0.0)),
                    |r| r.1 .2.is_none(),
                ),
                (
                    RunCondition::Tag("stage".into(), Test::Compare(Comparison::Lt, "dev".into())),
                    |r| !r.2.is_empty() && r.2 < "dev",
                ),
                (
                    RunCondition::Tag("stage".into(), Test::NotIn(vec!["prod".into()])),
                    |r| !r.2.is_empty() && r.2 != "prod",
                ),
                (
                    RunCondition::Any(vec![
                        loss(Test::Compare(Comparison::Gt, 0.4)),
                        RunCondition::All(vec![
                            RunCondition::Tag("stage".into(), Test::In(vec!["dev".into()])),
                            RunCondition::Number(
                                NumberColumn::Start,
                                Test::Compare(Comparison::Ge, 1010.0),
                            ),
                        ]),
                    ]),
                    |r| r.1 .3.is_some_and(|l| l > 0.4) || (r.2 == "dev" && r.1 .1 >= 1010),
                ),
                (RunCondition::Never, |_| false),
                (RunCondition::StatusIn(vec![0]), |_| true),
                (RunCondition::Archived(true), |_| false),
            ];
            for (condition, oracle) in cases {
                let got = page(&db, &[project], None, Some(&condition), &[], 0, 100)
                    .await
                    .unwrap();
                let mut got: Vec<String> = got.into_iter().map(|j| j.uid).collect();
                got.sort();
                let mut want: Vec<String> = made
                    .iter()
                    .filter(|r| oracle(r))
                    .map(|r| r.0.clone())
                    .collect();
                want.sort();
                assert_eq!(got, want, "{condition:?}");
            }
        })
        .await;
    }
}
