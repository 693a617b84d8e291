-- The home view lists a person's own jobs by status: running and queued, and lately failed.
CREATE INDEX jobs_by_creator ON jobs (created_by, status, id);
