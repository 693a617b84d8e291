//! Queries on `metric_rollups`: each series summed per 1,024 steps as points arrive, so a
//! chart of a series of millions of points reads thousands of rows instead.

use super::metrics::Point;
use super::Tx;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Steps per rollup bucket.
pub const BUCKET_STEPS: i64 = 1024;

/// Buckets per upsert statement (8 binds each).
const ROWS_PER_STATEMENT: usize = 100;

/// A bucket of a series: its finite points summed.
#[derive(Clone, Copy, Debug, PartialEq, sqlx::FromRow)]
pub struct Rollup {
    /// `step / BUCKET_STEPS` (truncated, as SQL divides).
    pub bucket: i64,
    /// Points in it.
    pub count: i64,
    /// Sum of their steps.
    pub step_sum: f64,
    /// Sum of their wall-clock times (ms since the Unix epoch).
    pub wall_sum: f64,
    /// Sum of their values.
    pub value_sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// The rollups of `(series, point)` pairs: non-finite values are left out.
pub fn summarise(points: impl Iterator<Item = (i64, Point)>) -> BTreeMap<(i64, i64), Rollup> {
    let mut buckets: BTreeMap<(i64, i64), Rollup> = BTreeMap::new();
    for (series, point) in points.filter(|p| p.1.value.is_finite()) {
        let (bucket, value) = (point.step / BUCKET_STEPS, point.value);
        let entry = buckets.entry((series, bucket)).or_insert(Rollup {
            bucket,
            count: 0,
            step_sum: 0.0,
            wall_sum: 0.0,
            value_sum: 0.0,
            min: value,
            max: value,
        });
        entry.count += 1;
        entry.step_sum += point.step as f64;
        entry.wall_sum += point.wall_ms as f64;
        entry.value_sum += value;
        entry.min = entry.min.min(value);
        entry.max = entry.max.max(value);
    }
    buckets
}

/// Adds freshly stored points to their series' rollups, in the writer's transaction.
pub async fn add(tx: &mut Tx, points: impl Iterator<Item = (i64, Point)>) -> sqlx::Result<()> {
    let rows: Vec<((i64, i64), Rollup)> = summarise(points).into_iter().collect();
    // min/max of two values: SQLite's scalar min()/max(), PostgreSQL's LEAST/GREATEST.
    let (least, greatest) = if tx.backend_name() == "PostgreSQL" {
        ("LEAST", "GREATEST")
    } else {
        ("min", "max")
    };
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 8;
                let binds: Vec<String> = (b + 1..=b + 8).map(|n| format!("${n}")).collect();
                format!("({})", binds.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO metric_rollups
                (series_id, bucket, count, step_sum, wall_sum, value_sum, min, max)
             VALUES {}
             ON CONFLICT (series_id, bucket) DO UPDATE SET
                count = metric_rollups.count + excluded.count,
                step_sum = metric_rollups.step_sum + excluded.step_sum,
                wall_sum = metric_rollups.wall_sum + excluded.wall_sum,
                value_sum = metric_rollups.value_sum + excluded.value_sum,
                min = {least}(metric_rollups.min, excluded.min),
                max = {greatest}(metric_rollups.max, excluded.max)",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for ((series, _), rollup) in chunk {
            query = query
                .bind(*series)
                .bind(rollup.bucket)
                .bind(rollup.count)
                .bind(rollup.step_sum)
                .bind(rollup.wall_sum)
                .bind(rollup.value_sum)
                .bind(rollup.min)
                .bind(rollup.max);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The rollups of `series` for steps `first..=last` (whole buckets), in step order.
pub async fn read(
    conn: &mut AnyConnection,
    series: i64,
    first: i64,
    last: i64,
) -> sqlx::Result<Vec<Rollup>> {
    sqlx::query_as::<_, Rollup>(
        "SELECT bucket, count, step_sum, wall_sum, value_sum, min, max FROM metric_rollups
         WHERE series_id = $1 AND bucket >= $2 AND bucket <= $3 ORDER BY bucket",
    )
    .bind(series)
    .bind(first / BUCKET_STEPS)
    .bind(last / BUCKET_STEPS)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::metrics;
    use crate::db::testing::{each_backend, project_with_job};

    fn at(series: i64, step: i64, value: f64) -> (i64, Point) {
        let wall_ms = 1_000 + step;
        (
            series,
            Point {
                step,
                wall_ms,
                value,
            },
        )
    }

    #[test]
    fn points_are_summed_per_bucket_without_non_finite_values() {
        let points = [
            at(1, 0, 2.0),
            at(1, 1023, 4.0),
            at(1, 1024, 1.0),
            at(1, 5, f64::NAN),
            at(2, 0, f64::INFINITY),
        ];
        let rollups = summarise(points.into_iter());
        assert_eq!(rollups.len(), 2);
        let first = rollups[&(1, 0)];
        assert_eq!(
            (
                first.count,
                first.step_sum,
                first.wall_sum,
                first.value_sum,
                first.min,
                first.max
            ),
            (2, 1023.0, 3023.0, 6.0, 2.0, 4.0)
        );
        assert_eq!(rollups[&(1, 1)].count, 1);
    }

    #[tokio::test]
    async fn appended_points_keep_their_rollups_current_across_batches() {
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            for (from, value) in [(0, 1.0), (1000, 3.0)] {
                let points: Vec<Point> = (from..from + 2000)
                    .map(|step| Point {
                        step,
                        wall_ms: step,
                        value,
                    })
                    .collect();
                let mut tx = db.begin().await.unwrap();
                metrics::append(&mut tx, project, job, "loss", &points)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            let series: i64 = sqlx::query_scalar("SELECT id FROM metric_series")
                .fetch_one(db.pool())
                .await
                .unwrap();
            let mut conn = db.pool().acquire().await.unwrap();
            let rollups = read(&mut conn, series, 0, i64::MAX).await.unwrap();
            assert_eq!(rollups.iter().map(|r| r.count).sum::<i64>(), 4000);
            let second = rollups[1];
            assert_eq!(
                (second.bucket, second.count, second.min, second.max),
                (1, 976 + 1024, 1.0, 3.0)
            );
            let walls: f64 = (1024..2000).chain(1024..2048).map(|s| s as f64).sum();
            assert_eq!(second.wall_sum, walls);
        })
        .await;
    }

    #[tokio::test]
    async fn the_migration_sums_the_wall_times_of_points_stored_before_it() {
        each_backend(|db| async move {
            let (project, job) = project_with_job(&db).await;
            let points: Vec<Point> = (0..3000)
                .map(|step| Point {
                    step,
                    wall_ms: 5 * step,
                    value: if step == 7 { f64::NAN } else { 1.0 },
                })
                .collect();
            let mut tx = db.begin().await.unwrap();
            metrics::append(&mut tx, project, job, "loss", &points)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let mut conn = db.pool().acquire().await.unwrap();
            let series: i64 = sqlx::query_scalar("SELECT id FROM metric_series")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            let kept = read(&mut conn, series, 0, i64::MAX).await.unwrap();
            // As a store migrated before the column existed: every sum 0, then the backfill.
            sqlx::query("UPDATE metric_rollups SET wall_sum = 0")
                .execute(&mut *conn)
                .await
                .unwrap();
            let migration = match db.backend() {
                crate::db::Backend::Sqlite => {
                    include_str!("../../migrations/sqlite/0009_storage_usage_and_wall_rollups.sql")
                }
                crate::db::Backend::Postgres => include_str!(
                    "../../migrations/postgres/0009_storage_usage_and_wall_rollups.sql"
                ),
            };
            let backfill = &migration[migration.find("UPDATE").expect("the backfill")..];
            sqlx::query(backfill).execute(&mut *conn).await.unwrap();
            let filled = read(&mut conn, series, 0, i64::MAX).await.unwrap();
            assert_eq!(filled, kept);
            assert_eq!(
                filled[0].wall_sum,
                (0..1024)
                    .filter(|s| *s != 7)
                    .map(|s| 5.0 * s as f64)
                    .sum::<f64>()
            );
        })
        .await;
    }
}
