-- Render statistics (render_statistics.py): task runs and rendered frames.

-- name: start_task_run
INSERT INTO task_runs (
    task_id, task_uuid, task_name, task_type, job_uuid, worker_uuid, worker_name,
    queued_at, started_at
) VALUES (
    :task_id, :task_uuid, :task_name, :task_type, :job_uuid, :worker_uuid, :worker_name,
    :queued_at, :now
);

-- name: finish_task_run
UPDATE task_runs SET finished_at = :now, status = :status
WHERE task_id = :task_id AND finished_at IS NULL;

-- name: close_abandoned_task_runs
-- Runs that ended without the task leaving 'active' one by one (a whole job cancelled or
-- requeued, a job deleted): they end when their task last changed, or at their start
-- when the task is gone.
UPDATE task_runs SET
    finished_at = COALESCE(
        (SELECT tasks.updated_at FROM tasks WHERE tasks.id = task_runs.task_id
           AND tasks.uuid = task_runs.task_uuid),
        started_at),
    status = COALESCE(
        (SELECT tasks.status FROM tasks WHERE tasks.id = task_runs.task_id
           AND tasks.uuid = task_runs.task_uuid),
        'deleted')
WHERE finished_at IS NULL
  AND started_at < :before
  AND NOT EXISTS (
    SELECT 1 FROM tasks
    JOIN workers ON workers.id = tasks.worker_id
    WHERE tasks.id = task_runs.task_id
      AND tasks.uuid = task_runs.task_uuid
      AND tasks.status = 'active'
      AND workers.uuid = task_runs.worker_uuid
  );

-- name: save_rendered_frame
INSERT INTO frame_statistics (
    recorded_at, job_uuid, task_uuid, worker_uuid, worker_name, frame,
    render_seconds, saving_seconds, peak_memory_bytes
) VALUES (
    :recorded_at, :job_uuid, :task_uuid, :worker_uuid,
    COALESCE((SELECT name FROM workers WHERE uuid = :worker_uuid), ''),
    :frame, :render_seconds, :saving_seconds, :peak_memory_bytes
);

-- name: fetch_job_frames
SELECT * FROM frame_statistics WHERE job_uuid = :job_uuid ORDER BY frame, recorded_at, id;

-- name: fetch_job_task_runs
SELECT * FROM task_runs WHERE job_uuid = :job_uuid ORDER BY started_at, id;

-- name: fetch_task_runs_between
-- Runs that overlap [from, to), of one Worker or (worker_uuid NULL) of all.
SELECT * FROM task_runs
WHERE started_at < :until
  AND (finished_at IS NULL OR finished_at >= :since)
  AND (CAST(:worker_uuid AS TEXT) IS NULL OR worker_uuid = :worker_uuid)
ORDER BY started_at, id;

-- name: prune_frame_statistics
DELETE FROM frame_statistics WHERE id IN (
    SELECT id FROM frame_statistics WHERE recorded_at < :before ORDER BY id LIMIT :limit
);

-- name: prune_task_runs
DELETE FROM task_runs WHERE id IN (
    SELECT id FROM task_runs
    WHERE finished_at IS NOT NULL AND finished_at < :before
    ORDER BY id LIMIT :limit
);
