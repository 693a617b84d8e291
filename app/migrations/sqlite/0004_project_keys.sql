-- Every parameter and metric key used in a project, kept as jobs and series are written, so the
-- table view's column chooser searches a project's keys without reading every job.
CREATE TABLE project_keys (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('param', 'metric')),
    key        TEXT    NOT NULL,
    PRIMARY KEY (project_id, kind, key)
) WITHOUT ROWID;

INSERT OR IGNORE INTO project_keys (project_id, kind, key)
SELECT DISTINCT project_id, 'metric', key FROM metric_series;

INSERT OR IGNORE INTO project_keys (project_id, kind, key)
SELECT DISTINCT j.project_id, 'param', p.key
FROM jobs j, json_each(CASE WHEN json_valid(j.params) THEN j.params ELSE '{}' END) p;
