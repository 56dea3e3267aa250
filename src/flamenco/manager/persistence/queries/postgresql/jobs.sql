-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: fetch_jobs_in_status
SELECT * FROM job_view
WHERE status IN (SELECT json_array_elements_text(CAST(:statuses AS json)))
ORDER BY id;

-- name: fetch_job_for_update
-- The job, locked until the transaction ends: every change to a job's tasks that can
-- change the job's status takes this lock before counting them, so two processes
-- finishing a job's last two tasks at once cannot both miss the job's completion.
-- NO KEY UPDATE, not UPDATE: a transaction that changed a task twice holds a key-share
-- lock on its job from PostgreSQL's foreign key check, and two such transactions
-- asking for the stronger lock would wait for each other.
SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
FROM jobs
LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id
WHERE jobs.id = :id
FOR NO KEY UPDATE OF jobs;

-- name: change_task_status_locking_job
-- save_task_status, the task's render-statistics row (start_task_run when
-- :start_run, finish_task_run when :finish_run), fetch_job_for_update,
-- move_task_between_counts and add_job_steps_completed (when :steps_delta is not 0)
-- in one statement instead of three to five: every task status change, a scheduled
-- task's above all, makes that many round trips fewer, and holds its job's lock,
-- which every change to the job's tasks waits for, that much shorter.
-- The task's row is the caller's already; `job` reads `saved`, so the job is locked
-- after the task, in the farm's lock order. Answers the task as save_task_status
-- does and the job as fetch_job_for_update would after the steps were added, its
-- columns named "job.<column>".
WITH saved AS (
    UPDATE tasks SET status = :status, steps_completed = :steps_completed, updated_at = :now,
        status_changed_at = CASE WHEN status = :status THEN status_changed_at ELSE :now END,
        worker_id = coalesce(CAST(:assign_to AS bigint), worker_id),
        last_touched_at = CASE
            WHEN CAST(:assign_to AS bigint) IS NULL THEN last_touched_at ELSE :now END,
        last_progress_at = CASE
            WHEN CAST(:assign_to AS bigint) IS NULL THEN last_progress_at ELSE :now END
    WHERE id = :id
    RETURNING *
), job AS (
    SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
    FROM jobs
    LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id
    WHERE jobs.id = (SELECT job_id FROM saved)
    FOR NO KEY UPDATE OF jobs
), moved AS (
    INSERT INTO job_task_counts (job_id, status, num_tasks)
    SELECT job.id, counted.status, counted.delta
    FROM job, (VALUES (CAST(:old_status AS text), -1), (CAST(:status AS text), 1)) AS counted (status, delta)
    ON CONFLICT (job_id, status) DO UPDATE SET num_tasks = job_task_counts.num_tasks + excluded.num_tasks
), stepped AS (
    UPDATE jobs SET steps_completed = jobs.steps_completed + :steps_delta, updated_at = :now
    FROM job
    WHERE jobs.id = job.id AND CAST(:steps_delta AS integer) <> 0
    RETURNING jobs.steps_completed, jobs.updated_at
), run_started AS (
    INSERT INTO task_runs (
        task_id, task_uuid, task_name, task_type, job_uuid, worker_uuid, worker_name,
        queued_at, started_at
    )
    SELECT saved.id, saved.uuid, saved.name, saved.type, job.uuid,
        coalesce(workers.uuid, ''), coalesce(workers.name, ''), :queued_at, :now
    FROM saved
    CROSS JOIN job
    LEFT JOIN workers ON workers.id = saved.worker_id
    WHERE CAST(:start_run AS boolean)
), run_finished AS (
    UPDATE task_runs SET finished_at = :now, status = :status
    WHERE task_id = :id AND finished_at IS NULL AND CAST(:finish_run AS boolean)
)
SELECT saved.*, job.uuid AS job_uuid,
    workers.uuid AS worker_uuid, workers.name AS worker_name, workers.address AS worker_address,
    job.id AS "job.id", job.uuid AS "job.uuid", job.created_at AS "job.created_at",
    coalesce(stepped.updated_at, job.updated_at) AS "job.updated_at",
    job.name AS "job.name", job.job_type AS "job.job_type",
    job.priority AS "job.priority", job.status AS "job.status", job.activity AS "job.activity",
    job.settings AS "job.settings", job.metadata AS "job.metadata",
    job.submitter_platform AS "job.submitter_platform",
    job.delete_requested_at AS "job.delete_requested_at",
    job.storage_shaman_checkout_id AS "job.storage_shaman_checkout_id",
    job.worker_tag_id AS "job.worker_tag_id", job.worker_tag_uuid AS "job.worker_tag_uuid",
    coalesce(stepped.steps_completed, job.steps_completed) AS "job.steps_completed",
    job.steps_total AS "job.steps_total", job.max_workers AS "job.max_workers"
FROM saved
CROSS JOIN job
LEFT JOIN stepped ON true
LEFT JOIN workers ON workers.id = saved.worker_id;

-- name: refresh_task_statistics
-- After a big job is stored, so that the scheduler's query plan knows the tasks are
-- there: otherwise PostgreSQL keeps planning as for an empty table until autovacuum
-- gets round to it, and scheduling takes a hundred times longer meanwhile. The jobs
-- too: without their statistics PostgreSQL guesses that one job is runnable, and
-- gathers and sorts every queued task of the farm (400 ms with 100,000 queued)
-- instead of walking tasks_schedulable to the first runnable one.
ANALYZE jobs, tasks, task_dependencies;
