-- Who may do what (the same as migrations/sqlite): instance admins, API tokens with a scope
-- and an expiry, and job tokens that act only for their job.

-- An admin can do everything on the instance. The first user (who set it up) becomes one.
ALTER TABLE users ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;
UPDATE users SET admin = 1 WHERE id = (SELECT MIN(id) FROM users);

-- `scope` is 'read', 'write' or 'job'. Tokens made before scopes acted fully: they stay 'write'.
-- A job token (`job_id` set) writes only to its job and the runs it creates, reads its project.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write'
    CHECK (scope IN ('read', 'write', 'job'));
ALTER TABLE api_tokens ADD COLUMN expires_ms BIGINT;
ALTER TABLE api_tokens ADD COLUMN job_id BIGINT REFERENCES jobs (id) ON DELETE CASCADE;
UPDATE api_tokens
SET scope = 'job', job_id = (SELECT j.id FROM jobs j WHERE j.token_id = api_tokens.id)
WHERE id IN (SELECT token_id FROM jobs WHERE token_id IS NOT NULL);
-- Job tokens of ended jobs die with them.
UPDATE api_tokens SET revoked_ms = created_ms
WHERE scope = 'job' AND revoked_ms IS NULL
  AND job_id IN (SELECT id FROM jobs WHERE status NOT IN (0, 1, 2));

-- The token a job was created with, so a job's token may write to the runs it started itself
-- (MLflow's nested runs).
ALTER TABLE jobs ADD COLUMN created_token BIGINT;
