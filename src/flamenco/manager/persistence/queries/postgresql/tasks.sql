-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: update_job_tasks
-- Mass status change of a job's tasks, e.g. cancelling or requeueing a whole job,
-- optionally only those in some statuses and a range of IDs (for huge jobs).
UPDATE tasks SET
    status = :new_status,
    activity = :activity,
    updated_at = :now,
    status_changed_at = CASE WHEN status = :new_status THEN status_changed_at ELSE :now END,
    steps_completed = CASE
        WHEN CAST(:new_status AS text) = 'queued' THEN 0
        WHEN CAST(:new_status AS text) = 'completed' THEN steps_total
        ELSE steps_completed
    END
WHERE job_id = :job_id
  AND id BETWEEN :first AND :last
  AND (
    CAST(:statuses AS json) IS NULL
    OR status IN (SELECT json_array_elements_text(CAST(:statuses AS json)))
  );

-- name: record_progress
-- A Worker's progress report in one statement, which needs no transaction: the Worker
-- is seen and the task touched when the task is that Worker's, and the task's reference
-- comes back either way (no row: no such task; sender_id NULL: no such Worker). The same
-- as fetch_task_ref_and_sender, mark_worker_seen and touch_task_with_activity, which
-- SQLite runs instead: it has no data-modifying WITH, and no round trips to save.
-- The task is touched only once the Worker is seen (`seen` returns the Worker's ID when
-- the task is the Worker's): that makes PostgreSQL lock the Worker's row before the
-- task's, the order every transaction locks them in; on its own it may run the
-- updates of a WITH in any order.
WITH task AS (
    SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id,
        jobs.uuid AS job_uuid, tasks.type, tasks.steps_completed, tasks.steps_total
    FROM tasks JOIN jobs ON jobs.id = tasks.job_id
    WHERE tasks.uuid = :uuid
), sender AS (
    SELECT workers.id FROM workers
    WHERE workers.uuid = :worker_uuid AND workers.deleted_at IS NULL
), seen AS (
    UPDATE workers SET last_seen_at = :now
    WHERE workers.id = (SELECT id FROM sender) AND workers.id = (SELECT worker_id FROM task)
    RETURNING workers.id
), touched AS (
    UPDATE tasks SET
        last_touched_at = :now,
        last_progress_at = CASE WHEN :progressed THEN :now ELSE last_progress_at END,
        activity = coalesce(:activity, activity),
        updated_at = CASE WHEN :activity IS NULL THEN updated_at ELSE :now END
    WHERE tasks.id = (SELECT id FROM task) AND tasks.worker_id = (SELECT id FROM seen)
    RETURNING tasks.id
)
SELECT task.*, (SELECT id FROM sender) AS sender_id FROM task;

-- name: record_progress_many
-- record_progress for a batch of reports, one statement for all: each report on a task
-- of its own, from a Worker of its own, so that no row is updated twice. One row comes
-- back per report, in the reports' order; its task columns are NULL when there is no
-- such task, and sender_id is NULL when there is no such Worker. Workers are updated
-- before tasks (`touched` reads `seen`): the order every transaction locks them in.
WITH report AS (
    SELECT * FROM unnest(
        CAST(:uuids AS text[]), CAST(:worker_uuids AS text[]), CAST(:activities AS text[]),
        CAST(:nows AS text[]), CAST(:progressed AS boolean[])
    ) WITH ORDINALITY AS report(uuid, worker_uuid, activity, now, progressed, position)
), task AS (
    SELECT report.position, report.activity AS new_activity, report.now,
        report.progressed, tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id,
        jobs.uuid AS job_uuid, tasks.type, tasks.steps_completed, tasks.steps_total,
        (SELECT workers.id FROM workers
         WHERE workers.uuid = report.worker_uuid AND workers.deleted_at IS NULL) AS sender_id
    FROM report
    LEFT JOIN tasks ON tasks.uuid = report.uuid
    LEFT JOIN jobs ON jobs.id = tasks.job_id
), seen AS (
    UPDATE workers SET last_seen_at = task.now
    FROM task
    WHERE workers.id = task.sender_id AND workers.id = task.worker_id
    RETURNING workers.id
), touched AS (
    UPDATE tasks SET
        last_touched_at = task.now,
        last_progress_at = CASE WHEN task.progressed THEN task.now ELSE tasks.last_progress_at END,
        activity = coalesce(task.new_activity, tasks.activity),
        updated_at = CASE WHEN task.new_activity IS NULL THEN tasks.updated_at ELSE task.now END
    FROM task
    WHERE tasks.id = task.id AND task.sender_id = task.worker_id
      AND task.sender_id IN (SELECT id FROM seen)
    RETURNING tasks.id
)
SELECT task.* FROM task ORDER BY task.position;
