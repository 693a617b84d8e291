-- Pools of machines the server creates when jobs wait and deletes when idle. `settings` is the
-- checked pool spec as JSON (labels, GPUs, price, bounds, timeouts, commands); a failing create
-- command backs off: `create_failures` in a row, no new machine before `next_create_ms`.
CREATE TABLE pools (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    settings        TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    create_failures INTEGER NOT NULL DEFAULT 0,
    next_create_ms  INTEGER NOT NULL DEFAULT 0
);

-- One row per machine a pool asked for, kept after it is gone for its history and its cost.
-- `token_id` is the one-use runner token its create command got; `runner_id` the runner that
-- registered with it; `state` one of requested, booting, ready, busy, idle, draining,
-- deleting, gone, failed, lost; `ending` the state it ends in once its delete command has run
-- (gone, failed or lost); `output` the end of the last command's output.
CREATE TABLE pool_machines (
    id           INTEGER PRIMARY KEY,
    pool_id      INTEGER NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL UNIQUE,
    state        TEXT    NOT NULL,
    token_id     INTEGER REFERENCES runner_tokens (id) ON DELETE SET NULL,
    runner_id    INTEGER REFERENCES runners (id) ON DELETE SET NULL,
    requested_ms INTEGER NOT NULL,
    state_ms     INTEGER NOT NULL,
    idle_ms      INTEGER,
    ended_ms     INTEGER,
    ending       TEXT,
    output       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX pool_machines_live ON pool_machines (pool_id, ended_ms);
CREATE INDEX pool_machines_token ON pool_machines (token_id);

-- Every change of a machine's state, for the pool's history on the runners page.
CREATE TABLE pool_changes (
    id         INTEGER PRIMARY KEY,
    machine_id INTEGER NOT NULL REFERENCES pool_machines (id) ON DELETE CASCADE,
    at_ms      INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX pool_changes_machine ON pool_changes (machine_id, id);
