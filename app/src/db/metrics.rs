//! Queries on `metric_series` (a job's metric keys with summaries) and `metric_points`.

use super::project_keys::KeyKind;
use super::sql::BindsOptionalFloat;
use super::Tx;
use sqlx::AnyConnection;
use std::fmt::Write;

/// One logged value of a metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Training step.
    pub step: i64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub wall_ms: i64,
    /// The value; NaN is kept (stored as NULL).
    pub value: f64,
}

/// A job's metric key and what lists show of it without reading points.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Summary {
    /// Series id.
    pub id: i64,
    /// Metric name.
    pub key: String,
    /// Points logged.
    pub count: i64,
    /// Value at the latest step (then latest time); `None` if NaN or nothing logged.
    pub last: Option<f64>,
    /// Step of `last`.
    pub last_step: Option<i64>,
    /// Wall time of `last`.
    pub last_ms: Option<i64>,
    /// Smallest value, NaN ignored.
    pub min: Option<f64>,
    /// Largest value, NaN ignored.
    pub max: Option<f64>,
}

/// Points per PostgreSQL INSERT, which carries them as five array texts.
const POINTS_PER_INSERT: usize = 20_000;

/// Keys per statement when creating series or updating summaries: few enough binds for both
/// backends and for the parameter lookup to stay cheap.
const KEYS_PER_STATEMENT: usize = 50;

/// Appends `points` to `job`'s series `key`, creating the series, and updates its summary.
pub async fn append(
    tx: &mut Tx,
    project: i64,
    job: i64,
    key: &str,
    points: &[Point],
) -> sqlx::Result<Summary> {
    let mut summaries = append_many(tx, project, job, &[(key, points)]).await?;
    Ok(summaries.remove(0))
}

/// Appends points to several of `job`'s series at once (as a batch from a training script
/// arrives), in a handful of statements whatever the number of keys. Returns the new summaries
/// in the order of the first appearance of each key.
pub async fn append_many(
    tx: &mut Tx,
    project: i64,
    job: i64,
    batches: &[(&str, &[Point])],
) -> sqlx::Result<Vec<Summary>> {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in batches {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    let mut summaries = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        summaries.extend(series_for_update(tx, project, job, chunk).await?);
    }
    let index_of = |key: &str| {
        keys.iter()
            .position(|k| *k == key)
            .expect("every key has a series")
    };
    let mut next_seq: Vec<i64> = summaries.iter().map(|s| s.count).collect();
    let mut rows = Vec::with_capacity(batches.iter().map(|(_, p)| p.len()).sum());
    for (key, points) in batches {
        let i = index_of(key);
        for point in *points {
            rows.push(PointRow {
                series: summaries[i].id,
                seq: next_seq[i],
                point: *point,
            });
            next_seq[i] += 1;
        }
    }
    insert_points(tx, &rows).await?;
    super::rollups::add(tx, rows.iter().map(|r| (r.series, r.point))).await?;
    for (key, points) in batches {
        fold(&mut summaries[index_of(key)], points);
    }
    for chunk in summaries.chunks(KEYS_PER_STATEMENT) {
        update_summaries(tx, chunk).await?;
    }
    Ok(summaries)
}

/// Appends points that arrive one by one with their keys (as API batches do), grouped by key in
/// order of first appearance. Returns the new summaries in that order.
pub async fn append_keyed<K: AsRef<str>>(
    tx: &mut Tx,
    project: i64,
    job: i64,
    points: &[(K, Point)],
) -> sqlx::Result<Vec<Summary>> {
    let mut by_key: Vec<(&str, Vec<Point>)> = Vec::new();
    for (key, point) in points {
        let key = key.as_ref();
        match by_key.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(*point),
            None => by_key.push((key, vec![*point])),
        }
    }
    let batches: Vec<(&str, &[Point])> = by_key.iter().map(|(k, p)| (*k, p.as_slice())).collect();
    append_many(tx, project, job, &batches).await
}

/// The series rows of `keys`, created where missing. The upsert also locks existing rows on
/// PostgreSQL, so concurrent appends to one series take turns (SQLite has one writer anyway).
async fn series_for_update(
    tx: &mut Tx,
    project: i64,
    job: i64,
    keys: &[&str],
) -> sqlx::Result<Vec<Summary>> {
    let values: Vec<String> = (0..keys.len())
        .map(|i| format!("($1, $2, ${})", i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO metric_series (job_id, project_id, key) VALUES {}
         ON CONFLICT (job_id, key) DO UPDATE SET key = excluded.key
         RETURNING id, key, count, last, last_step, last_ms, min, max",
        values.join(", ")
    );
    let mut query = sqlx::query_as::<_, Summary>(&sql).bind(job).bind(project);
    for key in keys {
        query = query.bind(*key);
    }
    let mut rows = query.fetch_all(&mut **tx).await?;
    // RETURNING order is not promised: put the rows in the order of `keys`.
    rows.sort_by_key(|row| keys.iter().position(|k| *k == row.key));
    let new: Vec<&str> = rows
        .iter()
        .filter(|row| row.count == 0)
        .map(|row| row.key.as_str())
        .collect();
    super::project_keys::add(tx, project, KeyKind::Metric, &new).await?;
    Ok(rows)
}

/// Writes new summaries, one statement for many series.
async fn update_summaries(tx: &mut Tx, summaries: &[Summary]) -> sqlx::Result<()> {
    let mut sql = String::from("UPDATE metric_series SET ");
    let columns = ["count", "last", "last_step", "last_ms", "min", "max"];
    for (c, column) in columns.iter().enumerate() {
        let _ = write!(sql, "{}{column} = CASE id", if c > 0 { ", " } else { "" });
        for s in 0..summaries.len() {
            let _ = write!(sql, " WHEN ${} THEN ${}", s * 7 + 1, s * 7 + 2 + c);
        }
        sql.push_str(" END");
    }
    let ids: Vec<String> = (0..summaries.len())
        .map(|s| format!("${}", s * 7 + 1))
        .collect();
    let _ = write!(sql, " WHERE id IN ({})", ids.join(", "));
    let mut query = sqlx::query(&sql);
    for s in summaries {
        query = query
            .bind(s.id)
            .bind(s.count)
            .bind(s.last)
            .bind(s.last_step)
            .bind(s.last_ms)
            .bind(s.min)
            .bind(s.max);
    }
    let null = summaries
        .iter()
        .any(|s| s.last.is_none() || s.min.is_none() || s.max.is_none());
    query
        .uncached_if_null(null)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A point with the series and position it is stored at.
#[derive(Clone, Copy)]
struct PointRow {
    series: i64,
    seq: i64,
    point: Point,
}

/// Rows per SQLite INSERT: 5 binds a row stays under SQLite's limit of 32,766.
const SQLITE_ROWS_PER_INSERT: usize = 1000;

/// Inserts rows of points, in few statements. The dialects differ for speed: SQLite gets
/// multi-row VALUES with anonymous `?` parameters (sqlx finds a named `$N` by a linear scan, so
/// big `$N` statements are quadratic, and unpacking JSON in SQLite costs more than binding);
/// PostgreSQL unnests one array text per column for 20,000 points (sqlx's `Any` driver binds
/// no arrays), which it parses in 60% of the time one JSON array of rows took.
async fn insert_points(conn: &mut AnyConnection, rows: &[PointRow]) -> sqlx::Result<()> {
    if conn.backend_name() == "PostgreSQL" {
        for chunk in rows.chunks(POINTS_PER_INSERT) {
            let [series, step, seq, wall_ms, value] = point_arrays(chunk);
            sqlx::query(
                "INSERT INTO metric_points (series_id, step, seq, wall_ms, value)
                 SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[],
                                      $5::DOUBLE PRECISION[])",
            )
            .bind(series)
            .bind(step)
            .bind(seq)
            .bind(wall_ms)
            .bind(value)
            .execute(&mut *conn)
            .await?;
        }
        return Ok(());
    }
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO metric_points (series_id, step, seq, wall_ms, value) VALUES ",
        );
        sql.push_str(&vec!["(?,?,?,?,?)"; chunk.len()].join(","));
        let mut query = sqlx::query(&sql);
        for row in chunk {
            let value = (!row.point.value.is_nan()).then_some(row.point.value);
            query = query
                .bind(row.series)
                .bind(row.point.step)
                .bind(row.seq)
                .bind(row.point.wall_ms)
                .bind(value);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The columns of `rows` as PostgreSQL array texts (`{1,2,3}`): NaN becomes NULL (as on
/// SQLite, which cannot store NaN), infinities the words PostgreSQL reads as infinity.
fn point_arrays(rows: &[PointRow]) -> [String; 5] {
    let mut columns: [String; 5] =
        std::array::from_fn(|_| String::with_capacity(rows.len() * 16 + 2));
    for (i, row) in rows.iter().enumerate() {
        let separator = if i == 0 { '{' } else { ',' };
        for column in &mut columns {
            column.push(separator);
        }
        let [series, step, seq, wall_ms, value] = &mut columns;
        let _ = write!(series, "{}", row.series);
        let _ = write!(step, "{}", row.point.step);
        let _ = write!(seq, "{}", row.seq);
        let _ = write!(wall_ms, "{}", row.point.wall_ms);
        match row.point.value {
            v if v.is_nan() => value.push_str("NULL"),
            v if v.is_infinite() => value.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" }),
            // Debug prints the shortest text that reads back to the same f64, with an exponent
            // for very large or small values.
            v => {
                let _ = write!(value, "{v:?}");
            }
        }
    }
    for column in &mut columns {
        if rows.is_empty() {
            column.push('{');
        }
        column.push('}');
    }
    columns
}

/// Folds new points into a summary: MLflow's "latest" is the largest step, then the latest
/// time, then the largest value.
fn fold(summary: &mut Summary, points: &[Point]) {
    for p in points {
        summary.count += 1;
        if !p.value.is_nan() {
            summary.min = Some(summary.min.map_or(p.value, |m| m.min(p.value)));
            summary.max = Some(summary.max.map_or(p.value, |m| m.max(p.value)));
        }
        let newer = match (summary.last_step, summary.last_ms) {
            (Some(step), Some(ms)) => {
                (p.step, p.wall_ms) > (step, ms)
                    || ((p.step, p.wall_ms) == (step, ms)
                        && summary.last.is_some_and(|l| p.value > l))
            }
            _ => true,
        };
        if newer {
            summary.last = (!p.value.is_nan()).then_some(p.value);
            summary.last_step = Some(p.step);
            summary.last_ms = Some(p.wall_ms);
        }
    }
}

/// The metric summaries of every job of `projects`, as (job id, summary).
pub async fn summaries_in_projects(
    db: &super::Db,
    projects: &[i64],
) -> sqlx::Result<Vec<(i64, Summary)>> {
    summaries_where(db, "project_id", projects).await
}

/// The summaries of each of `jobs` that has metrics, by key.
pub async fn summaries_of_jobs(
    db: &super::Db,
    jobs: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, Vec<Summary>>> {
    let mut by_job: std::collections::HashMap<i64, Vec<Summary>> = std::collections::HashMap::new();
    for (job, summary) in summaries_where(db, "job_id", jobs).await? {
        by_job.entry(job).or_default().push(summary);
    }
    Ok(by_job)
}

/// (job id, summary) of the series whose `column` is one of `ids`, by job and key.
async fn summaries_where(
    db: &super::Db,
    column: &'static str,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, Summary)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        job_id: i64,
        #[sqlx(flatten)]
        summary: Summary,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers the caller resolved from the database, so listing them inline is safe.
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT job_id, id, key, count, last, last_step, last_ms, min, max FROM metric_series
         WHERE {column} IN ({}) ORDER BY job_id, key",
        ids.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| (r.job_id, r.summary)).collect())
}

/// The summary of `job`'s series `key`, if it has one.
pub async fn series(
    conn: &mut AnyConnection,
    job: i64,
    key: &str,
) -> sqlx::Result<Option<Summary>> {
    sqlx::query_as::<_, Summary>(
        "SELECT id, key, count, last, last_step, last_ms, min, max FROM metric_series
         WHERE job_id = $1 AND key = $2",
    )
    .bind(job)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// The metric keys of `job` with their summaries, by key.
pub async fn summaries(conn: &mut AnyConnection, job: i64) -> sqlx::Result<Vec<Summary>> {
    sqlx::query_as::<_, Summary>(
        "SELECT id, key, count, last, last_step, last_ms, min, max FROM metric_series
         WHERE job_id = $1 ORDER BY key",
    )
    .bind(job)
    .fetch_all(conn)
    .await
}

/// Up to `limit` points of a series after position (`step`, `seq`), in step order, each with
/// its position so the caller can continue from the last one.
pub async fn points_after(
    conn: &mut AnyConnection,
    series: i64,
    after: Option<(i64, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<(i64, Point)>> {
    let (step, seq) = after.unwrap_or((i64::MIN, i64::MIN));
    let rows = sqlx::query_as::<_, (i64, i64, i64, Option<f64>)>(
        "SELECT step, seq, wall_ms, value FROM metric_points
         WHERE series_id = $1 AND (step, seq) > ($2, $3) ORDER BY step, seq LIMIT $4",
    )
    .bind(series)
    .bind(step)
    .bind(seq)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(step, seq, wall_ms, value)| {
            (
                seq,
                Point {
                    step,
                    wall_ms,
                    value: value.unwrap_or(f64::NAN),
                },
            )
        })
        .collect())
}

/// How many distinct steps a series has from `first` to `last`.
pub async fn distinct_steps(
    conn: &mut AnyConnection,
    series: i64,
    first: i64,
    last: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT step) FROM metric_points
         WHERE series_id = $1 AND step >= $2 AND step <= $3",
    )
    .bind(series)
    .bind(first)
    .bind(last)
    .fetch_one(conn)
    .await
}

/// The points of a series with steps from `first` to `last`, in step order.
pub async fn points_in_steps(
    conn: &mut AnyConnection,
    series: i64,
    first: i64,
    last: i64,
) -> sqlx::Result<Vec<Point>> {
    let rows = sqlx::query_as::<_, (i64, i64, Option<f64>)>(
        "SELECT step, wall_ms, value FROM metric_points
         WHERE series_id = $1 AND step >= $2 AND step <= $3 ORDER BY step, seq",
    )
    .bind(series)
    .bind(first)
    .bind(last)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(step, wall_ms, value)| Point {
            step,
            wall_ms,
            value: value.unwrap_or(f64::NAN),
        })
        .collect())
}

/// Whether series `key` of `job` holds a point equal to `point`, NaN equal to NaN.
pub async fn has_point(
    conn: &mut AnyConnection,
    job: i64,
    key: &str,
    point: &Point,
) -> sqlx::Result<bool> {
    let Some(series) = series(&mut *conn, job, key).await? else {
        return Ok(false);
    };
    let same_step = points_in_steps(conn, series.id, point.step, point.step).await?;
    Ok(same_step.iter().any(|p| {
        p.wall_ms == point.wall_ms
            && (p.value == point.value || p.value.is_nan() && point.value.is_nan())
    }))
}

/// All points of a series in step order (then arrival order).
pub async fn points(conn: &mut AnyConnection, series: i64) -> sqlx::Result<Vec<Point>> {
    points_in_steps(conn, series, i64::MIN, i64::MAX).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{each_backend, project_with_job};

    #[tokio::test]
    async fn appended_points_are_stored_in_step_order_and_summarised() {
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            let mut tx = db.begin().await.unwrap();
            let first: Vec<Point> = (0..2500)
                .map(|i| Point {
                    step: i,
                    wall_ms: 1000 + i,
                    value: 1.0 / (i + 1) as f64,
                })
                .collect();
            append(&mut tx, project, job, "loss", &first).await.unwrap();
            let late = [
                Point {
                    step: 5,
                    wall_ms: 9000,
                    value: f64::NAN,
                },
                Point {
                    step: 6,
                    wall_ms: 9000,
                    value: f64::INFINITY,
                },
                Point {
                    step: 7,
                    wall_ms: 9000,
                    value: -1e-300,
                },
                Point {
                    step: 3000,
                    wall_ms: 9001,
                    value: 7.0,
                },
            ];
            let summary = append(&mut tx, project, job, "loss", &late).await.unwrap();
            tx.commit().await.unwrap();

            assert_eq!(
                (summary.count, summary.last, summary.last_step),
                (2504, Some(7.0), Some(3000))
            );
            assert_eq!(
                (summary.min, summary.max),
                (Some(-1e-300), Some(f64::INFINITY))
            );
            let mut conn = db.pool().acquire().await.unwrap();
            assert_eq!(
                summaries(&mut conn, job).await.unwrap(),
                vec![summary.clone()]
            );
            let stored = points(&mut conn, summary.id).await.unwrap();
            assert_eq!(stored.len(), 2504);
            let value_at = |step: i64| stored.iter().rev().find(|p| p.step == step).unwrap().value;
            assert_eq!((value_at(6), value_at(7)), (f64::INFINITY, -1e-300));
            assert_eq!(value_at(2499), 1.0 / 2500.0, "values round-trip exactly");
            assert!(stored.windows(2).all(|w| w[0].step <= w[1].step));
            let at_five: Vec<f64> = stored
                .iter()
                .filter(|p| p.step == 5)
                .map(|p| p.value)
                .collect();
            assert_eq!(at_five[0], 1.0 / 6.0);
            assert!(at_five[1].is_nan(), "NaN survives the round trip");
        })
        .await;
    }

    #[tokio::test]
    async fn a_batch_of_many_keys_lands_in_their_series_with_summaries() {
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            let mut tx = db.begin().await.unwrap();
            let p = |step: i64, value: f64| Point {
                step,
                wall_ms: 100 + step,
                value,
            };
            append(&mut tx, project, job, "b", &[p(0, 5.0)])
                .await
                .unwrap();
            let (a, b1, b2) = ([p(0, 1.0), p(1, 2.0)], [p(1, 4.0)], [p(2, 3.0)]);
            let many: Vec<String> = (0..120).map(|i| format!("k{i:03}")).collect();
            let mut batches: Vec<(&str, &[Point])> = vec![("a", &a), ("b", &b1), ("b", &b2)];
            batches.extend(many.iter().map(|k| (k.as_str(), &a[..1])));
            let got = append_many(&mut tx, project, job, &batches).await.unwrap();
            tx.commit().await.unwrap();

            assert_eq!(got.len(), 122, "one summary per distinct key");
            assert_eq!(
                (got[0].key.as_str(), got[0].count, got[0].last),
                ("a", 2, Some(2.0))
            );
            assert_eq!(
                (got[1].key.as_str(), got[1].count, got[1].last),
                ("b", 3, Some(3.0))
            );
            assert_eq!((got[1].min, got[1].max), (Some(3.0), Some(5.0)));
            let mut conn = db.pool().acquire().await.unwrap();
            let b: Vec<f64> = points(&mut conn, got[1].id)
                .await
                .unwrap()
                .iter()
                .map(|p| p.value)
                .collect();
            assert_eq!(b, [5.0, 4.0, 3.0]);
            let stored = summaries(&mut conn, job).await.unwrap();
            assert_eq!(stored.len(), 122);
            assert_eq!(
                stored.iter().find(|s| s.key == "b"),
                Some(&got[1]),
                "summaries are stored"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_writers_to_one_series_lose_nothing() {
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            let writers = (0..8).map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    for batch in 0..20 {
                        let points: Vec<Point> = (0..50)
                            .map(|i| Point {
                                step: w * 10_000 + batch * 50 + i,
                                wall_ms: 1,
                                value: 1.0,
                            })
                            .collect();
                        let mut tx = db.begin().await.unwrap();
                        append_many(
                            &mut tx,
                            project,
                            job,
                            &[("loss", &points), ("acc", &points[..1])],
                        )
                        .await
                        .unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            });
            for writer in writers.collect::<Vec<_>>() {
                writer.await.unwrap();
            }
            let mut conn = db.pool().acquire().await.unwrap();
            let stored = summaries(&mut conn, job).await.unwrap();
            let loss = stored.iter().find(|s| s.key == "loss").unwrap();
            assert_eq!(loss.count, 8 * 20 * 50);
            assert_eq!(points(&mut conn, loss.id).await.unwrap().len(), 8 * 20 * 50);
            assert_eq!(
                stored.iter().find(|s| s.key == "acc").unwrap().count,
                8 * 20
            );
        })
        .await;
    }

    #[test]
    fn point_arrays_are_columns_postgresql_reads_back_exactly() {
        let row = |series, step, seq, value| PointRow {
            series,
            seq,
            point: Point {
                step,
                wall_ms: 1_700_000_000_000 + step,
                value,
            },
        };
        let rows = [
            row(3, 0, 0, 0.1),
            row(3, 1, 1, f64::NAN),
            row(9, -2, 0, f64::NEG_INFINITY),
            row(9, 7, 1, 1.5e-300),
        ];
        assert_eq!(
            point_arrays(&rows),
            [
                "{3,3,9,9}",
                "{0,1,-2,7}",
                "{0,1,0,1}",
                "{1700000000000,1700000000001,1699999999998,1700000000007}",
                "{0.1,NULL,-Infinity,1.5e-300}",
            ]
        );
        assert_eq!(point_arrays(&[]), std::array::from_fn(|_| "{}".to_owned()));
    }

    #[test]
    fn the_latest_point_is_the_largest_step_then_time_then_value() {
        let mut s = Summary {
            id: 1,
            key: "k".into(),
            count: 0,
            last: None,
            last_step: None,
            last_ms: None,
            min: None,
            max: None,
        };
        fold(
            &mut s,
            &[
                Point {
                    step: 2,
                    wall_ms: 5,
                    value: 1.0,
                },
                Point {
                    step: 1,
                    wall_ms: 9,
                    value: 3.0,
                },
            ],
        );
        assert_eq!((s.last, s.last_step), (Some(1.0), Some(2)));
        fold(
            &mut s,
            &[
                Point {
                    step: 2,
                    wall_ms: 5,
                    value: 4.0,
                },
                Point {
                    step: 2,
                    wall_ms: 5,
                    value: 2.0,
                },
            ],
        );
        assert_eq!(s.last, Some(4.0));
        assert_eq!((s.min, s.max, s.count), (Some(1.0), Some(4.0), 4));
    }

    #[tokio::test]
    async fn a_series_of_only_nan_then_one_of_numbers_are_both_summarised() {
        // A null float first and a number after it through one cached statement once failed
        // on PostgreSQL (see `sql::BindsOptionalFloat`).
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            let point = |step, value| Point {
                step,
                wall_ms: step,
                value,
            };
            let mut tx = db.begin().await.unwrap();
            append(&mut tx, project, job, "diverged", &[point(1, f64::NAN)])
                .await
                .unwrap();
            append(&mut tx, project, job, "diverged", &[point(2, f64::NAN)])
                .await
                .unwrap();
            append(&mut tx, project, job, "loss", &[point(1, 0.5)])
                .await
                .unwrap();
            let fine = append(&mut tx, project, job, "loss", &[point(2, 0.25)])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                (fine.last, fine.min, fine.max),
                (Some(0.25), Some(0.25), Some(0.5))
            );
            let stored: Vec<(String, Option<f64>)> =
                sqlx::query_as("SELECT key, last FROM metric_series WHERE job_id = $1 ORDER BY id")
                    .bind(job)
                    .fetch_all(db.pool())
                    .await
                    .unwrap();
            assert_eq!(
                stored,
                [
                    ("diverged".to_owned(), None),
                    ("loss".to_owned(), Some(0.25))
                ]
            );
        })
        .await;
    }
}
