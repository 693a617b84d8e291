//! Queries on `metric_series` (a job's metric keys with summaries) and `metric_points`.

use super::Tx;
use sqlx::AnyConnection;

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

/// Points per INSERT: the batch travels as one JSON text, so a statement has three binds
/// whatever its size (SQLite's bind lookup is linear in the number of parameters).
const POINTS_PER_INSERT: usize = 20_000;

/// Appends `points` to `job`'s series `key`, creating the series, and updates its summary.
pub async fn append(
    tx: &mut Tx,
    project: i64,
    job: i64,
    key: &str,
    points: &[Point],
) -> sqlx::Result<Summary> {
    let mut summary = series_for_update(tx, project, job, key).await?;
    insert_points(tx, summary.id, summary.count, points).await?;
    fold(&mut summary, points);
    sqlx::query(
        "UPDATE metric_series SET count = $1, last = $2, last_step = $3, last_ms = $4, min = $5, max = $6
         WHERE id = $7",
    )
    .bind(summary.count)
    .bind(summary.last)
    .bind(summary.last_step)
    .bind(summary.last_ms)
    .bind(summary.min)
    .bind(summary.max)
    .bind(summary.id)
    .execute(&mut **tx)
    .await?;
    Ok(summary)
}

/// The series row, created if missing and locked against concurrent appends on PostgreSQL
/// (SQLite's write transaction already excludes other writers).
async fn series_for_update(
    tx: &mut Tx,
    project: i64,
    job: i64,
    key: &str,
) -> sqlx::Result<Summary> {
    sqlx::query("INSERT INTO metric_series (job_id, project_id, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(job)
        .bind(project)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    let lock = match tx.backend_name() {
        "PostgreSQL" => " FOR UPDATE",
        _ => "",
    };
    sqlx::query_as::<_, Summary>(&format!(
        "SELECT id, key, count, last, last_step, last_ms, min, max FROM metric_series
         WHERE job_id = $1 AND key = $2{lock}"
    ))
    .bind(job)
    .bind(key)
    .fetch_one(&mut **tx)
    .await
}

/// Inserts points numbered from `first_seq`, unpacking a JSON array in the database.
async fn insert_points(
    conn: &mut AnyConnection,
    series: i64,
    first_seq: i64,
    points: &[Point],
) -> sqlx::Result<()> {
    let postgres = conn.backend_name() == "PostgreSQL";
    let sql = if postgres {
        "INSERT INTO metric_points (series_id, step, seq, wall_ms, value)
         SELECT $1, (e.p->>0)::BIGINT, $2 + e.i - 1, (e.p->>1)::BIGINT, (e.p->>2)::DOUBLE PRECISION
         FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(p, i)"
    } else {
        "INSERT INTO metric_points (series_id, step, seq, wall_ms, value)
         SELECT $1, e.value ->> 0, $2 + e.key, e.value ->> 1, e.value ->> 2 FROM json_each($3) AS e"
    };
    let mut seq = first_seq;
    for chunk in points.chunks(POINTS_PER_INSERT) {
        let json = points_json(chunk, postgres);
        sqlx::query(sql)
            .bind(series)
            .bind(seq)
            .bind(json)
            .execute(&mut *conn)
            .await?;
        seq += chunk.len() as i64;
    }
    Ok(())
}

/// `[[step, wall_ms, value], ...]`. NaN becomes null (stored as NULL); infinities become what
/// each database reads as infinity: a string on PostgreSQL, an overflowing number on SQLite.
fn points_json(points: &[Point], postgres: bool) -> String {
    use std::fmt::Write;
    let mut json = String::with_capacity(points.len() * 32 + 2);
    json.push('[');
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(json, "[{},{},", p.step, p.wall_ms);
        match (p.value, postgres) {
            (v, _) if v.is_nan() => json.push_str("null"),
            (v, true) if v.is_infinite() => json.push_str(if v > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            }),
            (v, false) if v.is_infinite() => {
                json.push_str(if v > 0.0 { "9e999" } else { "-9e999" })
            }
            // Debug prints the shortest text that reads back to the same f64, with an exponent
            // for very large or small values.
            (v, _) => {
                let _ = write!(json, "{v:?}");
            }
        }
        json.push(']');
    }
    json.push(']');
    json
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

/// All points of a series in step order (then arrival order).
pub async fn points(conn: &mut AnyConnection, series: i64) -> sqlx::Result<Vec<Point>> {
    let rows = sqlx::query_as::<_, (i64, i64, Option<f64>)>(
        "SELECT step, wall_ms, value FROM metric_points WHERE series_id = $1 ORDER BY step, seq",
    )
    .bind(series)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{jobs, projects, testing::each_backend, users};

    #[tokio::test]
    async fn appended_points_are_stored_in_step_order_and_summarised() {
        each_backend(|db| async move {
            let user = users::create(&db, "u", "U").await.unwrap();
            let project = projects::create(&db, user.id, "p", "", false)
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let job = jobs::insert_many(&mut tx, project, &[jobs::NewJob::default()])
                .await
                .unwrap()[0]
                .id;
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
}
