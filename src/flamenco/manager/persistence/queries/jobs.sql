-- name: insert_job
-- Store a freshly compiled job; its tasks follow with insert_task.
INSERT INTO jobs (
    created_at, updated_at, uuid, name, job_type, priority, status, activity,
    settings, metadata, submitter_platform, storage_shaman_checkout_id, worker_tag_id,
    steps_completed, steps_total, max_workers
) VALUES (
    :now, :now, :uuid, :name, :job_type, :priority, :status, '',
    :settings, :metadata, :submitter_platform, :shaman_checkout_id, :worker_tag_id,
    0, :steps_total, :max_workers
)
RETURNING id;

-- name: fetch_job
SELECT * FROM job_view WHERE uuid = :uuid;

-- name: fetch_job_by_id
SELECT * FROM job_view WHERE id = :id;

-- name: fetch_jobs
SELECT * FROM job_view ORDER BY id;

-- name: save_job_status
UPDATE jobs SET status = :status, activity = :activity, updated_at = :now WHERE id = :id;

-- name: save_job_priority
UPDATE jobs SET priority = :priority, updated_at = :now WHERE id = :id;

-- name: save_tasks_job_priority
-- Keep the scheduler's copy of the job priority in step.
UPDATE tasks SET job_priority = :priority WHERE job_id = :job_id;

-- name: save_job_max_workers
UPDATE jobs SET max_workers = :max_workers, updated_at = :now WHERE id = :id;

-- name: insert_job_resource_limit
-- The job's tasks of this type take one unit of the named limit while active.
INSERT INTO job_resource_limits (job_id, task_type, limit_name)
VALUES (:job_id, :task_type, :limit_name);

-- name: save_job_tag
UPDATE jobs SET worker_tag_id = :worker_tag_id, updated_at = :now WHERE id = :id;

-- name: request_job_deletion
UPDATE jobs SET delete_requested_at = :now, updated_at = :now WHERE id = :id;

-- name: fetch_jobs_to_delete
SELECT * FROM job_view WHERE delete_requested_at IS NOT NULL ORDER BY delete_requested_at;

-- name: fetch_job_ids_updated_before
SELECT id FROM jobs WHERE updated_at <= :moment ORDER BY id;

-- name: delete_job
DELETE FROM jobs WHERE id = :id;

-- name: delete_tasks_of_job
-- Part of deleting a big job: a batch of its tasks, newest first. Job types create
-- tasks after the tasks they depend on, so what remains keeps its dependencies.
DELETE FROM tasks WHERE id IN (
  SELECT id FROM tasks WHERE job_id = :job_id ORDER BY index_in_job DESC LIMIT :limit
);

-- name: count_tasks_of_job_by_status
SELECT status, num_tasks FROM job_task_counts WHERE job_id = :job_id AND num_tasks > 0;

-- name: set_job_task_count
-- A new job's tasks all start in the same status.
INSERT INTO job_task_counts (job_id, status, num_tasks) VALUES (:job_id, :status, :num_tasks);

-- name: move_task_between_counts
-- One task of the job left :old_status for :new_status. One statement, as it runs while
-- the job's row is locked.
INSERT INTO job_task_counts (job_id, status, num_tasks)
VALUES (:job_id, :old_status, -1), (:job_id, :new_status, 1)
ON CONFLICT (job_id, status) DO UPDATE SET num_tasks = job_task_counts.num_tasks + excluded.num_tasks;

-- name: clear_job_task_counts
DELETE FROM job_task_counts WHERE job_id = :job_id;

-- name: recount_job_tasks
-- After a mass update of a job's tasks: count them again.
INSERT INTO job_task_counts (job_id, status, num_tasks)
SELECT job_id, status, count(*) FROM tasks WHERE job_id = :job_id GROUP BY job_id, status;

-- name: recompute_job_steps
-- Sum the steps of all tasks after a mass update of their statuses.
UPDATE jobs SET
    steps_completed = (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = :id),
    steps_total = (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = :id)
WHERE id = :id;

-- name: add_job_steps_completed
UPDATE jobs SET steps_completed = steps_completed + :delta, updated_at = :now WHERE id = :id;

-- name: fetch_job_steps
SELECT steps_completed, steps_total FROM jobs WHERE id = :id;

-- name: fetch_last_rendered_job
SELECT jobs.uuid FROM last_rendereds JOIN jobs ON jobs.id = last_rendereds.job_id WHERE last_rendereds.id = 1;

-- name: save_last_rendered_job
INSERT INTO last_rendereds (id, created_at, updated_at, job_id) VALUES (1, :now, :now, :job_id)
ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, updated_at = excluded.updated_at;
