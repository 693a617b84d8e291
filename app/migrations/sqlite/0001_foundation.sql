-- Accounts, projects, jobs, metrics, logs and the event sequence. Times are milliseconds
-- since the Unix epoch, flags are 0/1 integers: the same column types on both backends.

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    display_name TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL
);
CREATE INDEX users_by_created ON users (created_ms, id);

CREATE TABLE passwords (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash    TEXT    NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    private         INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    next_job_number INTEGER NOT NULL DEFAULT 1,
    job_count       INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE INDEX projects_by_created ON projects (owner_id, created_ms, id);
CREATE INDEX projects_by_updated ON projects (owner_id, updated_ms, id);

CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    uid         TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    command     TEXT    NOT NULL DEFAULT '',
    params      TEXT    NOT NULL DEFAULT '{}',
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_ms  INTEGER NOT NULL,
    started_ms  INTEGER,
    finished_ms INTEGER,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    gpus        INTEGER NOT NULL DEFAULT 0,
    runner      TEXT,
    cost_usd    REAL,
    archived    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, number)
);
-- One index per jobs-column sort, so every page is an index range scan.
CREATE INDEX jobs_by_created  ON jobs (project_id, created_ms, id);
CREATE INDEX jobs_by_name     ON jobs (project_id, name, id);
CREATE INDEX jobs_by_status   ON jobs (project_id, status, id);
CREATE INDEX jobs_by_duration ON jobs (project_id, duration_ms, id);

CREATE TABLE job_tags (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    key    TEXT    NOT NULL,
    value  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, key)
) WITHOUT ROWID;

-- A job's metric key with its summary, so lists and tables never scan points.
CREATE TABLE metric_series (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    count      INTEGER NOT NULL DEFAULT 0,
    last       REAL,
    last_step  INTEGER,
    last_ms    INTEGER,
    min        REAL,
    max        REAL,
    UNIQUE (job_id, key)
);
CREATE INDEX metric_series_by_last ON metric_series (project_id, key, last, job_id);

-- `seq` numbers a series' points in arrival order, so repeated steps are all kept.
-- A NULL value is NaN (SQLite stores NaN as NULL; PostgreSQL is made to match).
CREATE TABLE metric_points (
    series_id INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    wall_ms   INTEGER NOT NULL,
    value     REAL,
    PRIMARY KEY (series_id, step, seq)
) WITHOUT ROWID;

CREATE TABLE log_chunks (
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    stream  TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    wall_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- The sequence live updates read: every accepted write appends here.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    project_id INTEGER,
    job_id     INTEGER,
    payload    TEXT    NOT NULL DEFAULT '{}'
);
