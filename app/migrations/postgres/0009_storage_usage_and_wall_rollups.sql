-- Bytes each user keeps in the file store (the snapshots they uploaded, the artifacts of the
-- jobs they created), counted in the same transaction that keeps each file, so `serve --quota`
-- is checked without walking the disk and stays right across restarts.
CREATE TABLE storage_usage (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bytes   BIGINT NOT NULL
);

-- The snapshots each user uploaded: a snapshot (stored once, by its hash) counts once against
-- every user who sent it, however often they send it again.
CREATE TABLE snapshot_uploads (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sha256  TEXT   NOT NULL,
    bytes   BIGINT NOT NULL,
    PRIMARY KEY (user_id, sha256)
);

-- The sum of each rollup's wall-clock times, so charts by wall or relative time are drawn from
-- rollups as charts by step are, instead of reading every point. Existing points are summed
-- once here.
ALTER TABLE metric_rollups ADD COLUMN wall_sum DOUBLE PRECISION NOT NULL DEFAULT 0;

UPDATE metric_rollups SET wall_sum = sums.wall_sum
FROM (SELECT series_id, step / 1024 AS bucket,
             CAST(SUM(wall_ms) AS DOUBLE PRECISION) AS wall_sum
      FROM metric_points
      WHERE value IS NOT NULL AND value > -1e308 AND value < 1e308
      GROUP BY series_id, step / 1024) AS sums
WHERE metric_rollups.series_id = sums.series_id AND metric_rollups.bucket = sums.bucket;
