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
