-- MLflow's model registry: named models with numbered versions, each pointing at the files of a
-- logged model or a run, with tags, aliases (`champion`) and MLflow's legacy stages.

-- Names are unique across the instance, as MLflow's client looks a model up by name alone.
CREATE TABLE registered_models (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    -- The project whose readers read it and whose members change it: the project of its
    -- versions' runs. NULL until its first version; until then only its creator sees it.
    project_id   INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    creator_id   INTEGER NOT NULL REFERENCES users (id),
    description  TEXT    NOT NULL DEFAULT '',
    -- The highest version number ever given, so a deleted version's number is not reused.
    last_version INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
);
CREATE INDEX registered_models_by_project ON registered_models (project_id);

CREATE TABLE registered_model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
    id               INTEGER PRIMARY KEY,
    model_id         INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    -- As the client gave it (`models:/m-...`, `runs:/RUN/model`, a URI elsewhere).
    source           TEXT    NOT NULL,
    -- Where its files are: what `get-download-uri` answers.
    storage_location TEXT    NOT NULL,
    -- The run id as the client gave it; `job_id` links it when it names a run the registering
    -- user could read (MLflow keeps any run id, as its tests and older scripts send).
    run_id           TEXT    NOT NULL DEFAULT '',
    job_id           INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    logged_model_id  INTEGER REFERENCES logged_models (id) ON DELETE SET NULL,
    run_link         TEXT    NOT NULL DEFAULT '',
    description      TEXT    NOT NULL DEFAULT '',
    -- MLflow's deprecated stages: None, Staging, Production or Archived.
    stage            TEXT    NOT NULL DEFAULT 'None',
    creator_id       INTEGER NOT NULL REFERENCES users (id),
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    UNIQUE (model_id, version)
);
CREATE INDEX model_versions_by_job ON model_versions (job_id);
CREATE INDEX model_versions_by_logged_model ON model_versions (logged_model_id);

CREATE TABLE model_version_tags (
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

-- An alias names one version of its model; deleting the version removes it.
CREATE TABLE registered_model_aliases (
    model_id   INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    alias      TEXT    NOT NULL,
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (model_id, alias)
) WITHOUT ROWID;
