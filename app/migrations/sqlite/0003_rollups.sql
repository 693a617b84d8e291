-- Each metric series summed per 1,024 steps (finite values only), kept as points arrive, so
-- a chart of a long series reads thousands of rows, not millions. Existing points are summed
-- once here.
CREATE TABLE metric_rollups (
    series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    bucket    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    step_sum  REAL NOT NULL,
    value_sum REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

INSERT INTO metric_rollups (series_id, bucket, count, step_sum, value_sum, min, max)
SELECT series_id, step / 1024, COUNT(*), CAST(SUM(step) AS DOUBLE PRECISION), SUM(value),
       MIN(value), MAX(value)
FROM metric_points
WHERE value IS NOT NULL AND value > -1e308 AND value < 1e308
GROUP BY series_id, step / 1024;
