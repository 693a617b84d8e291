-- Running jobs: runner tokens, registered runners, and on each job its spec, its queue and
-- lease state, and what it ended with.

CREATE TABLE runner_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);

-- One row per runner name; a runner that starts again under its name takes its row back.
CREATE TABLE runners (
    id            INTEGER PRIMARY KEY,
    token_id      INTEGER NOT NULL REFERENCES runner_tokens (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL UNIQUE,
    hostname      TEXT    NOT NULL DEFAULT '',
    gpus          TEXT    NOT NULL DEFAULT '[]',
    labels        TEXT    NOT NULL DEFAULT '[]',
    max_jobs      INTEGER NOT NULL DEFAULT 1,
    registered_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
);

-- `spec` is the resolved job spec as JSON (command, env, snapshot, metrics, artifacts, labels,
-- timeout); `spec_name` and `spec_hash` let `apply` find the job a spec made before.
-- `log_lines` counts runner output lines accepted, so a retried upload is not stored twice.
ALTER TABLE jobs ADD COLUMN spec_name TEXT;
ALTER TABLE jobs ADD COLUMN spec_hash TEXT;
ALTER TABLE jobs ADD COLUMN spec TEXT;
ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retries_left INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN exit_code INTEGER;
ALTER TABLE jobs ADD COLUMN error TEXT;
ALTER TABLE jobs ADD COLUMN runner_id INTEGER REFERENCES runners (id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN gpu_ids TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_ms INTEGER;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN token_id INTEGER;

-- The runner labels a job needs; a runner may lease it only if it has every one.
CREATE TABLE job_labels (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    label  TEXT    NOT NULL,
    PRIMARY KEY (job_id, label)
) WITHOUT ROWID;

-- The queue in order, and the leases the scheduler checks: small partial indexes.
CREATE INDEX jobs_queue ON jobs (id) WHERE status = 0 AND spec IS NOT NULL;
CREATE INDEX jobs_leased ON jobs (lease_expires_ms) WHERE lease_expires_ms IS NOT NULL;
CREATE INDEX jobs_by_spec ON jobs (project_id, spec_name, id) WHERE spec_name IS NOT NULL;

-- What a project's jobs cost in all, kept as jobs are added and priced, so lists never sum.
ALTER TABLE projects ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
UPDATE projects SET cost_usd = COALESCE((SELECT SUM(j.cost_usd) FROM jobs j WHERE j.project_id = projects.id), 0);
