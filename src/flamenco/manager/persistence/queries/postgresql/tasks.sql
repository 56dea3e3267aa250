-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: update_job_tasks
-- Mass status change of a job's tasks, e.g. cancelling or requeueing a whole job,
-- optionally only those in some statuses and a range of IDs (for huge jobs).
UPDATE tasks SET
    status = :new_status,
    activity = :activity,
    updated_at = :now,
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
