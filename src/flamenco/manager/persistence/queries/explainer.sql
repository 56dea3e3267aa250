-- name: fetch_job_blocklist_pairs
SELECT worker_id, task_type FROM job_blocks WHERE job_id = :job_id;

-- name: fetch_job_failure_pairs
-- Which Worker failed which of the job's not-yet-done tasks.
SELECT task_failures.worker_id, task_failures.task_id
FROM task_failures
JOIN tasks ON tasks.id = task_failures.task_id
WHERE tasks.job_id = :job_id AND tasks.status IN ('queued', 'soft-failed');

-- name: fetch_busy_workers
-- The job of each Worker's active task.
SELECT worker_id, min(job_id) AS job_id FROM tasks
WHERE status = 'active' AND worker_id IS NOT NULL
GROUP BY worker_id;

-- name: fetch_tag_memberships
SELECT worker_id, worker_tag_id FROM worker_tag_membership;

-- name: fetch_worker_tag_name
SELECT name FROM worker_tags WHERE id = :id;

-- name: fetch_workers_for_rules
-- What the scheduling rules know of each Worker (no timestamps to parse: a farm of
-- hundreds is read on every explanation).
SELECT id, uuid, name, platform, status, status_requested, supported_task_types
FROM workers WHERE deleted_at IS NULL ORDER BY name, id;

-- name: fetch_worker_for_rules
SELECT id, uuid, name, platform, status, status_requested, supported_task_types
FROM workers WHERE uuid = :uuid AND deleted_at IS NULL;
