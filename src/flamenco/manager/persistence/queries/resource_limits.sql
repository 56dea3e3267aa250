-- name: fetch_capped_runnable_jobs
-- Runnable jobs with a max_workers, and how many of their tasks are active now: the
-- scheduler leaves out those at their cap (jobs_max_workers keeps this to capped jobs).
SELECT jobs.id, jobs.max_workers, coalesce(counts.num_tasks, 0) AS active_tasks
FROM jobs
LEFT JOIN job_task_counts AS counts ON counts.job_id = jobs.id AND counts.status = 'active'
WHERE jobs.max_workers IS NOT NULL
  AND jobs.status IN ('active', 'queued');

-- name: count_active_tasks_of_job
SELECT coalesce(
    (SELECT num_tasks FROM job_task_counts WHERE job_id = :job_id AND status = 'active'), 0
);

-- name: fetch_resource_limit_usage
-- Units of each named limit in use: active tasks whose job's type says they take it.
-- Walks the active tasks only (a partial index holds them), a few per Worker.
SELECT job_resource_limits.limit_name, count(*) AS in_use
FROM tasks
JOIN job_resource_limits
  ON job_resource_limits.job_id = tasks.job_id AND job_resource_limits.task_type = tasks.type
WHERE tasks.status = 'active' AND job_resource_limits.limit_name != ''
GROUP BY job_resource_limits.limit_name;

-- name: fetch_task_type_resource_limits
SELECT limit_name FROM job_resource_limits
WHERE job_id = :job_id AND task_type = :task_type AND limit_name != ''
ORDER BY limit_name;

-- name: fetch_job_resource_limits
SELECT task_type, limit_name FROM job_resource_limits
WHERE job_id = :job_id AND limit_name != ''
ORDER BY task_type, limit_name;
