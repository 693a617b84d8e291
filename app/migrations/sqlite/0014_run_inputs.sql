-- MLflow's dataset inputs: the datasets a run read, each kept once per project by name and
-- digest, and each run's use of one with its input tags (`mlflow.data.context`: training...).
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    source_type TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    schema      TEXT,
    profile     TEXT,
    UNIQUE (project_id, name, digest)
);

CREATE TABLE run_inputs (
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    -- The input's tags as a JSON object.
    tags       TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (job_id, dataset_id)
) WITHOUT ROWID;
