-- SQLite's own text of queries that PostgreSQL words differently (see ../postgresql/).

-- name: fetch_job_as_dependency
-- A job a new job is to depend on. SQLite has one writer at a time, so it cannot
-- change before the new job is stored.
SELECT id, uuid, name, status, delete_requested_at FROM jobs WHERE uuid = :uuid;

-- name: fetch_task_status_for_update
-- An approval task's status as a person decides on it (SQLite: one writer at a time).
SELECT status FROM tasks WHERE id = :id;

-- name: lock_dependencies_of_job
-- Nothing to lock: SQLite has one writer at a time.
SELECT job_id FROM job_dependencies WHERE job_id = :job_id;
