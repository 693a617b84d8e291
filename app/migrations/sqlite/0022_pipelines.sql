-- Pipelines: each run of a pipeline spec, and one row per step instance (a `for_each` step has
-- one per combination). The driver reads everything it decides from here, so a restarted
-- server resumes every running pipeline, and starts each step exactly once: a step's job is
-- inserted in the transaction that moves its row out of 'waiting'.

-- `spec` is the checked pipeline spec as JSON and `snapshots` its code snapshots by `code`
-- directory (a JSON object); `spec_hash` lets `apply` say `unchanged`. A rerun names the run
-- it reuses (`rerun_of`) and the step it runs again from (`from_step`).
CREATE TABLE pipeline_runs (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    snapshots   TEXT    NOT NULL,
    spec_hash   TEXT    NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
    reason      TEXT,
    rerun_of    INTEGER REFERENCES pipeline_runs (id) ON DELETE SET NULL,
    from_step   TEXT,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_ms  INTEGER NOT NULL,
    finished_ms INTEGER
);
CREATE INDEX pipeline_runs_by_project ON pipeline_runs (project_id, id);
CREATE INDEX pipeline_runs_by_name ON pipeline_runs (project_id, name, id);
CREATE INDEX pipeline_runs_running ON pipeline_runs (id) WHERE state = 'running';

-- `definition` hashes the step as written (with its code and the pipeline's params);
-- `cache_key` adds what it was started with (its inputs' jobs, a sweep's best values), set
-- when it leaves 'waiting'. A 'cached' step's `job_id` is the earlier run's job it reuses.
CREATE TABLE pipeline_steps (
    run_id      INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    step        TEXT    NOT NULL,
    instance    INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN
        ('waiting', 'running', 'succeeded', 'failed', 'skipped', 'cached', 'cancelled')),
    definition  TEXT    NOT NULL,
    cache_key   TEXT,
    job_id      INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    sweep_id    INTEGER REFERENCES sweeps (id) ON DELETE SET NULL,
    reason      TEXT,
    started_ms  INTEGER,
    finished_ms INTEGER,
    PRIMARY KEY (run_id, step, instance)
) WITHOUT ROWID;
CREATE INDEX pipeline_steps_by_job ON pipeline_steps (job_id);
CREATE INDEX pipeline_steps_by_key ON pipeline_steps (cache_key) WHERE cache_key IS NOT NULL;

-- A pipeline's sweep step gives each trial job the step's inputs (a JSON list of {dir, job})
-- and tags (a JSON list of [key, value]); other sweeps have none.
ALTER TABLE sweeps ADD COLUMN inputs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sweeps ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
