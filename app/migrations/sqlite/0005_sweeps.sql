-- Sweeps: a hyperparameter search's spec and state, and its trials, each a job. The scheduler
-- reads everything it decides from here, so a restarted server resumes every running sweep.

-- `spec` is the checked sweep spec as JSON; `snapshot` the code its trials run; `spec_hash`
-- lets `apply` find the sweep a spec made before. `cloned_from` is the sweep whose trials this
-- one learned from ("run it again, wider").
CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    spec_hash   TEXT    NOT NULL,
    snapshot    TEXT,
    seed        INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'finished', 'failed', 'stopped')),
    reason      TEXT,
    cloned_from INTEGER REFERENCES sweeps (id) ON DELETE SET NULL,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_ms  INTEGER NOT NULL,
    finished_ms INTEGER
);
CREATE INDEX sweeps_by_project ON sweeps (project_id, id);
CREATE INDEX sweeps_by_name ON sweeps (project_id, name, id);
CREATE INDEX sweeps_running ON sweeps (id) WHERE state = 'running';

-- One row per trial, inserted with its job in one transaction; the primary key makes a
-- second insert of the same index fail, so no restart or second replica exceeds the budget.
-- `value` and `step` are the objective's result; `judged_to` the last step early stopping saw.
CREATE TABLE sweep_trials (
    sweep_id    INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    trial_index INTEGER NOT NULL,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    params      TEXT    NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('queued', 'running', 'completed', 'stopped', 'failed')),
    value       REAL,
    step        INTEGER,
    reason      TEXT,
    judged_to   INTEGER,
    finished_ms INTEGER,
    PRIMARY KEY (sweep_id, trial_index)
) WITHOUT ROWID;
CREATE INDEX sweep_trials_by_job ON sweep_trials (job_id);
