-- Every parameter and metric key used in a project, kept as jobs and series are written, so the
-- table view's column chooser searches a project's keys without reading every job.
CREATE TABLE project_keys (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL CHECK (kind IN ('param', 'metric')),
    key        TEXT   NOT NULL,
    PRIMARY KEY (project_id, kind, key)
);

INSERT INTO project_keys (project_id, kind, key)
SELECT DISTINCT project_id, 'metric', key FROM metric_series
ON CONFLICT DO NOTHING;

INSERT INTO project_keys (project_id, kind, key)
SELECT DISTINCT j.project_id, 'param', p.key
FROM jobs j, jsonb_object_keys(j.params::jsonb) AS p(key)
WHERE jsonb_typeof(j.params::jsonb) = 'object'
ON CONFLICT DO NOTHING;
