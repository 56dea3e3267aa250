-- name: add_job_block
INSERT INTO job_blocks (created_at, job_id, worker_id, task_type)
VALUES (:now, :job_id, :worker_id, :task_type)
ON CONFLICT DO NOTHING;

-- name: fetch_job_blocklist
SELECT workers.uuid AS worker_uuid, workers.name AS worker_name, job_blocks.task_type
FROM job_blocks
JOIN workers ON workers.id = job_blocks.worker_id
WHERE job_blocks.job_id = :job_id
ORDER BY workers.name, workers.uuid, job_blocks.task_type;

-- name: remove_job_block
DELETE FROM job_blocks
WHERE job_id = :job_id
  AND task_type = :task_type
  AND worker_id = (SELECT id FROM workers WHERE uuid = :worker_uuid);

-- name: clear_job_blocklist
DELETE FROM job_blocks WHERE job_id = :job_id;

-- name: count_task_failures_of_worker
-- How many tasks of this type in this job the Worker has failed.
SELECT count(*) FROM task_failures
JOIN tasks ON tasks.id = task_failures.task_id
WHERE tasks.job_id = :job_id AND tasks.type = :task_type AND task_failures.worker_id = :worker_id;
