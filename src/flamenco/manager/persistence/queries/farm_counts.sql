-- How many jobs, tasks and Workers the farm has in each status, for GET /metrics. Cheap
-- on any farm: jobs are counted along the jobs_status index, tasks come from the counts
-- kept per job (job_task_counts), and Workers are few.

-- name: count_jobs_by_status
SELECT status, count(*) AS count FROM jobs GROUP BY status;

-- name: count_tasks_by_status
SELECT status, sum(num_tasks) AS count FROM job_task_counts GROUP BY status;

-- name: count_workers_by_status
SELECT status, count(*) AS count FROM workers WHERE deleted_at IS NULL GROUP BY status;
