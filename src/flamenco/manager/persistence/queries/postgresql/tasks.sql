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

-- name: record_progress_many
-- Workers' progress reports, one statement for a batch of them, which needs no
-- transaction: each Worker is seen and its task touched when the task is that Worker's
-- (what fetch_progress_targets, mark_workers_seen and touch_tasks_with_activity do on
-- SQLite, which has no data-modifying WITH, and no round trips to save). Each report is
-- on a task of its own, from a Worker of its own, so that no row is updated twice. One
-- row comes back per report, in the reports' order; its task columns are NULL when
-- there is no such task, and sender_id is NULL when there is no such Worker. Workers
-- are updated before tasks (`touched` reads `seen`): the order every transaction locks
-- them in.
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
