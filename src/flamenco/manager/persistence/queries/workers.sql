-- name: insert_worker
INSERT INTO workers (
    created_at, updated_at, uuid, secret, name, address, platform, software, status,
    supported_task_types, can_restart
) VALUES (
    :now, :now, :uuid, :secret, :name, :address, :platform, '', :status,
    :supported_task_types, 0
)
RETURNING id;

-- name: fetch_worker
SELECT * FROM workers WHERE uuid = :uuid AND deleted_at IS NULL;

-- name: fetch_worker_id
SELECT id FROM workers WHERE uuid = :uuid AND deleted_at IS NULL;

-- name: fetch_worker_by_id
SELECT * FROM workers WHERE id = :id;

-- name: fetch_workers
SELECT * FROM workers WHERE deleted_at IS NULL ORDER BY name, id;

-- name: save_worker_sign_on
UPDATE workers SET
    name = :name,
    address = :address,
    software = :software,
    supported_task_types = :supported_task_types,
    can_restart = :can_restart,
    status = :status,
    last_seen_at = :now,
    updated_at = :now
WHERE id = :id;

-- name: save_worker_status
UPDATE workers SET status = :status, updated_at = :now WHERE id = :id;

-- name: save_worker_status_request
UPDATE workers SET status_requested = :status_requested, lazy_status_request = :lazy, updated_at = :now
WHERE id = :id;

-- name: mark_worker_seen
UPDATE workers SET last_seen_at = :now WHERE id = :id;

-- name: mark_worker_seen_returning
-- mark_worker_seen by UUID, answering fetch_worker's row: in one statement, which locks
-- the row before it reads it, so that no change committed meanwhile goes unseen.
UPDATE workers SET last_seen_at = :now WHERE uuid = :uuid AND deleted_at IS NULL
RETURNING *;

-- name: soft_delete_worker
UPDATE workers SET deleted_at = :now, updated_at = :now WHERE id = :id;

-- name: fetch_workers_timed_out
SELECT * FROM workers
WHERE deleted_at IS NULL
  AND status NOT IN ('error', 'offline')
  AND (last_seen_at IS NULL OR last_seen_at <= :before)
ORDER BY id;

-- name: save_status_of_worker_timed_out
-- save_worker_status, if fetch_workers_timed_out would still find the Worker: the update
-- locks the row before it checks, so a request of the Worker's that came first wins.
UPDATE workers SET status = :status, updated_at = :now
WHERE id = :id
  AND deleted_at IS NULL
  AND status NOT IN ('error', 'offline')
  AND (last_seen_at IS NULL OR last_seen_at <= :before);

-- name: fetch_last_task_of_worker
-- The Worker's active task, or else the task it worked on last.
SELECT * FROM task_view
WHERE worker_id = :worker_id
ORDER BY (status = 'active') DESC, last_touched_at DESC, id DESC
LIMIT 1;

-- name: fetch_worker_status_counts
SELECT status, count(*) AS num_workers FROM workers WHERE deleted_at IS NULL GROUP BY status;

-- name: fetch_job_status_counts
SELECT status, count(*) AS num_jobs FROM jobs GROUP BY status;
