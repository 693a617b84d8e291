-- A job's labels once more on the job, sorted and joined by ',' ('' for none): the pool
-- scheduler groups the queue by what jobs need, and reading labels from job_labels for every
-- queued job was most of its pass (bench/pools.sh). Written with the job; labels never change.
ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '';
UPDATE jobs SET labels = (SELECT group_concat(label, ',' ORDER BY label) FROM job_labels
                          WHERE job_id = jobs.id)
WHERE id IN (SELECT job_id FROM job_labels);
