-- name: insert_task
INSERT INTO tasks (
    created_at, updated_at, uuid, name, type, job_id, job_priority, index_in_job, priority,
    status, commands, activity, steps_completed, steps_total
) VALUES (
    :now, :now, :uuid, :name, :type, :job_id, :job_priority, :index_in_job, :priority,
    :status, :commands, '', 0, :steps_total
);

-- name: insert_task_dependency_by_uuid
INSERT INTO task_dependencies (task_id, dependency_id)
SELECT (SELECT id FROM tasks WHERE uuid = :task_uuid), (SELECT id FROM tasks WHERE uuid = :dependency_uuid);

-- name: fetch_task
SELECT * FROM task_view WHERE uuid = :uuid;

-- name: fetch_task_by_id
SELECT * FROM task_view WHERE id = :id;

-- name: fetch_tasks_of_job
SELECT * FROM task_view WHERE job_id = :job_id ORDER BY index_in_job;

-- name: fetch_tasks_of_worker_in_status
SELECT * FROM task_view WHERE worker_id = :worker_id AND status = :status ORDER BY id;

-- name: fetch_tasks_of_worker_in_job_in_status
SELECT * FROM task_view
WHERE worker_id = :worker_id AND job_id = :job_id AND status = :status
ORDER BY id;

-- name: save_task_status
-- Answers the task as task_view shows it, to save reading it back (a round trip on
-- PostgreSQL). With a Worker's ID in :assign_to, the task is that Worker's from now:
-- what the scheduler does when it hands the task out, in the same statement.
UPDATE tasks SET status = :status, steps_completed = :steps_completed, updated_at = :now,
    status_changed_at = CASE WHEN status = :status THEN status_changed_at ELSE :now END,
    worker_id = coalesce(CAST(:assign_to AS bigint), worker_id),
    last_touched_at = CASE
        WHEN CAST(:assign_to AS bigint) IS NULL THEN last_touched_at ELSE :now END,
    last_progress_at = CASE
        WHEN CAST(:assign_to AS bigint) IS NULL THEN last_progress_at ELSE :now END
WHERE id = :id
RETURNING *,
    (SELECT uuid FROM jobs WHERE jobs.id = tasks.job_id) AS job_uuid,
    (SELECT uuid FROM workers WHERE workers.id = tasks.worker_id) AS worker_uuid,
    (SELECT name FROM workers WHERE workers.id = tasks.worker_id) AS worker_name,
    (SELECT address FROM workers WHERE workers.id = tasks.worker_id) AS worker_address;

-- name: fetch_task_status_since
-- When the task got its current status; NULL when it never changed since its creation
-- (or since before the Manager kept track).
SELECT status_changed_at, created_at FROM tasks WHERE id = :id;

-- name: save_task_activity
UPDATE tasks SET activity = :activity, updated_at = :now WHERE id = :id;

-- name: save_task_steps_completed
UPDATE tasks SET steps_completed = :steps_completed, updated_at = :now WHERE id = :id;

-- name: touch_task
UPDATE tasks SET last_touched_at = :now WHERE id = :id;

-- name: assign_task
UPDATE tasks SET
    worker_id = :worker_id, last_touched_at = :now, last_progress_at = :now, updated_at = :now
WHERE id = :id;

-- name: fetch_task_failers
-- The Workers that failed this task, in the order they failed it.
SELECT workers.uuid, workers.name, workers.address
FROM task_failures
JOIN workers ON workers.id = task_failures.worker_id
WHERE task_failures.task_id = :task_id
ORDER BY task_failures.created_at, workers.id;

-- name: add_task_failure
INSERT INTO task_failures (created_at, task_id, worker_id) VALUES (:now, :task_id, :worker_id)
ON CONFLICT DO NOTHING;

-- name: count_task_failers
SELECT count(*) FROM task_failures WHERE task_id = :task_id;

-- name: clear_task_failures
DELETE FROM task_failures WHERE task_id = :task_id;

-- name: clear_job_task_failures
DELETE FROM task_failures WHERE task_id IN (SELECT id FROM tasks WHERE job_id = :job_id);

-- name: fetch_active_tasks_timed_out
SELECT * FROM task_view WHERE status = 'active' AND (last_touched_at IS NULL OR last_touched_at <= :before)
ORDER BY id;

-- name: save_activity_of_task_timed_out
-- save_task_activity, if fetch_active_tasks_timed_out would still find the task: the
-- update locks the row before it checks, so a Worker's report that came first wins.
UPDATE tasks SET activity = :activity, updated_at = :now
WHERE id = :id AND status = 'active' AND (last_touched_at IS NULL OR last_touched_at <= :before);

-- name: fetch_task_ref
-- What a Worker's task update needs to know about the task, without its commands.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total
FROM tasks JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.uuid = :uuid;

-- name: fetch_task_ref_and_sender
-- fetch_task_ref, and the ID of the Worker sending the update (NULL when it is unknown
-- or deleted): one query for what every progress report starts with.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total,
    (SELECT workers.id FROM workers
     WHERE workers.uuid = :worker_uuid AND workers.deleted_at IS NULL) AS sender_id
FROM tasks JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.uuid = :uuid;

-- name: fetch_active_tasks_without_progress
SELECT * FROM task_view
WHERE status = 'active' AND last_progress_at IS NOT NULL AND last_progress_at <= :before
ORDER BY id;

-- name: save_activity_of_task_without_progress
-- save_task_activity, if fetch_active_tasks_without_progress would still find the task
-- (see save_activity_of_task_timed_out).
UPDATE tasks SET activity = :activity, updated_at = :now
WHERE id = :id AND status = 'active' AND last_progress_at IS NOT NULL AND last_progress_at <= :before;

-- name: fetch_job_task_ids_after
-- The next batch of a job's task IDs, for changing a huge job a batch at a time.
SELECT id FROM tasks WHERE job_id = :job_id AND id > :after ORDER BY id LIMIT :limit;

-- name: fetch_task_dependencies_of_job
-- Every (task, the task it waits for) pair of a job's tasks.
SELECT task_dependencies.task_id, task_dependencies.dependency_id
FROM task_dependencies
JOIN tasks ON tasks.id = task_dependencies.task_id
WHERE tasks.job_id = :job_id;

-- name: fetch_task_statuses_of_job
-- What a scan of the job's output needs of each task, without the commands.
SELECT id, uuid, name, status FROM tasks WHERE job_id = :job_id ORDER BY index_in_job;

-- name: fetch_task_commands_of_job
-- Only what a scan of the job's output reads: each task's commands.
SELECT id, commands FROM tasks WHERE job_id = :job_id ORDER BY index_in_job;
