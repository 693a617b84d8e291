-- A job's labels once more on the job, sorted and joined by ',' ('' for none): the pool
-- scheduler groups the queue by what jobs need, and reading labels from job_labels for every
-- queued job was most of its pass (bench/pools.sh). Written with the job; labels never change.
ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '';
UPDATE jobs j SET labels = l.labels
FROM (SELECT job_id, string_agg(label, ',' ORDER BY label COLLATE "C") AS labels
      FROM job_labels GROUP BY job_id) l
WHERE l.job_id = j.id;
