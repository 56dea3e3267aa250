-- SQLite's own text of queries that PostgreSQL words differently (see ../postgresql/).

-- name: update_job_tasks
-- Mass status change of a job's tasks, e.g. cancelling or requeueing a whole job,
-- optionally only those in some statuses and a range of IDs (for huge jobs).
UPDATE tasks SET
    status = :new_status,
    activity = :activity,
    updated_at = :now,
    status_changed_at = CASE WHEN status = :new_status THEN status_changed_at ELSE :now END,
    steps_completed = CASE
        WHEN :new_status = 'queued' THEN 0
        WHEN :new_status = 'completed' THEN steps_total
        ELSE steps_completed
    END
WHERE job_id = :job_id
  AND id BETWEEN :first AND :last
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)));

-- name: fetch_progress_targets
-- What record_progress_many starts with on SQLite, which has no data-modifying WITH:
-- for a batch of progress reports (a JSON array of [task UUID, Worker UUID] pairs),
-- the columns of PostgreSQL's record_progress_many, one row per report in the
-- reports' order. Task columns are NULL when there is no such task, sender_id is
-- NULL when there is no such Worker. One statement for the batch, not one per report,
-- keeps the one writer thread's statements (and its hand-overs of the GIL) few.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id,
    jobs.uuid AS job_uuid, tasks.type, tasks.steps_completed, tasks.steps_total,
    (SELECT workers.id FROM workers
     WHERE workers.uuid = report.value ->> '$[1]' AND workers.deleted_at IS NULL) AS sender_id
FROM json_each(:reports) AS report
LEFT JOIN tasks ON tasks.uuid = report.value ->> '$[0]'
LEFT JOIN jobs ON jobs.id = tasks.job_id
ORDER BY report.key;

-- name: mark_workers_seen
-- mark_worker_seen for several Workers at once: a JSON array of [Worker ID, now] pairs.
UPDATE workers SET last_seen_at = seen.value ->> '$[1]'
FROM json_each(:seen) AS seen
WHERE workers.id = seen.value ->> '$[0]';

-- name: touch_tasks_with_activity
-- A batch of Workers' reports on their tasks (a JSON array of [task ID, now, activity
-- or null, progressed]): each task's Worker is alive, and when it sent log text or
-- steps, the task moved on.
UPDATE tasks SET
    last_touched_at = touched.value ->> '$[1]',
    last_progress_at = CASE
        WHEN touched.value ->> '$[3]' THEN touched.value ->> '$[1]'
        ELSE last_progress_at
    END,
    activity = coalesce(touched.value ->> '$[2]', activity),
    updated_at = CASE
        WHEN touched.value ->> '$[2]' IS NULL THEN updated_at
        ELSE touched.value ->> '$[1]'
    END
FROM json_each(:touched) AS touched
WHERE tasks.id = touched.value ->> '$[0]';
