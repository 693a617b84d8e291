-- The last position in each job's log, taken and raised under the job's row lock, so appends
-- that arrive together get the next positions one after another instead of colliding.
ALTER TABLE jobs ADD COLUMN log_seq INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET log_seq = (SELECT COALESCE(MAX(seq), 0) FROM log_chunks WHERE job_id = jobs.id);
