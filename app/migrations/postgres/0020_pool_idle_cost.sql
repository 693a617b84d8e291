-- The time a pool machine was paid for but no job used: set when the machine ends, and charged
-- to the projects whose jobs ran on it (in proportion to what those jobs cost), so a project's
-- `cost_usd` includes it; `idle_cost_usd` says how much of a project's cost that is.
ALTER TABLE pool_machines ADD COLUMN idle_cost_usd DOUBLE PRECISION;
ALTER TABLE projects ADD COLUMN idle_cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;

-- What a machine's jobs cost is read by its runner when it ends: without this, a scan of jobs.
CREATE INDEX jobs_by_runner ON jobs (runner_id) WHERE runner_id IS NOT NULL;
