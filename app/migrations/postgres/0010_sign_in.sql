-- Failed sign-ins, kept for the throttling window: password guessing is limited per account
-- name and per client address, on every replica alike.
CREATE TABLE failed_sign_ins (
    id      BIGSERIAL PRIMARY KEY,
    account TEXT    NOT NULL,
    address TEXT    NOT NULL,
    at_ms   BIGINT NOT NULL
);
CREATE INDEX failed_sign_ins_by_account ON failed_sign_ins (account, at_ms);
CREATE INDEX failed_sign_ins_by_address ON failed_sign_ins (address, at_ms);

-- When each session was last used (a session left idle for a week ends, whatever its age), and
-- the browser and address it was opened from, so people can tell their sessions apart.
ALTER TABLE sessions ADD COLUMN last_seen_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_ms = created_ms;
