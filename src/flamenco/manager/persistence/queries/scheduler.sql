-- name: fetch_assigned_active_task
-- A task this Worker is already running in a runnable job; it gets it again.
SELECT tasks.id FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.worker_id = :worker_id
  AND tasks.status = 'active'
  AND jobs.status IN ('active', 'queued')
ORDER BY tasks.id
LIMIT 1;
