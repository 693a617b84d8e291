-- MLflow 3's logged models: a model, usually produced by a run and then kept in that run's
-- artifact folder under `models/ID/`, with its own params, tags and the metrics it was
-- evaluated with.
CREATE TABLE logged_models (
    id             INTEGER PRIMARY KEY,
    -- `m-` and 32 hex digits, as MLflow names them.
    uid            TEXT    NOT NULL UNIQUE,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- The run that produced it, whose artifact folder holds its files; a model logged without
    -- a run keeps them in a folder of its own, named by its uid.
    job_id         INTEGER REFERENCES jobs (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    model_type     TEXT    NOT NULL DEFAULT '',
    -- LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.
    status         TEXT    NOT NULL,
    status_message TEXT    NOT NULL DEFAULT '',
    creator_id     INTEGER NOT NULL REFERENCES users (id),
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX logged_models_by_project ON logged_models (project_id, created_ms, id);
CREATE INDEX logged_models_by_job ON logged_models (job_id);

CREATE TABLE logged_model_params (
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_tags (
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- Metric points linked to a model (the client links the run's metrics at the model's step).
CREATE TABLE logged_model_metrics (
    model_id       INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    step           INTEGER NOT NULL,
    wall_ms        INTEGER NOT NULL,
    value          REAL,
    job_id         INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dataset_name   TEXT    NOT NULL DEFAULT '',
    dataset_digest TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, step, wall_ms, dataset_name, dataset_digest)
) WITHOUT ROWID;

-- A run's outputs: the models it logged, at which step.
CREATE TABLE run_outputs (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, model_id)
) WITHOUT ROWID;

-- A run's model inputs: the logged models it read.
CREATE TABLE run_model_inputs (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, model_id)
) WITHOUT ROWID;
