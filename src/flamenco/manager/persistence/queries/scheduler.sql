-- name: fetch_assigned_active_task
-- A task this Worker is already running in a runnable job; it gets it again
-- (fetch_task_ref's columns, as find_runnable_task).
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.worker_id = :worker_id
  AND tasks.status = 'active'
  AND jobs.status IN ('active', 'queued')
ORDER BY tasks.id
LIMIT 1;
