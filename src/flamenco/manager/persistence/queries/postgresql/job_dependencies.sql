-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: fetch_job_as_dependency
-- A job a new job is to depend on, share-locked until the new job is stored: a
-- dependency completing (or being marked for deletion) in another process waits for
-- the new job, and then sees it among its dependents.
SELECT id, uuid, name, status, delete_requested_at FROM jobs WHERE uuid = :uuid FOR SHARE;

-- name: fetch_task_status_for_update
-- An approval task's status as a person decides on it, locked (task before job, as
-- everywhere): of two people deciding at once, the second sees the first's decision.
SELECT status FROM tasks WHERE id = :id FOR NO KEY UPDATE;

-- name: lock_dependencies_of_job
-- Before deciding whether a job still waits: two of its dependencies completing at once
-- in two processes would otherwise each see the other unfinished, and both leave it
-- waiting. The second waits here for the first, then reads both as completed. These
-- rows, not the job's: a Worker's report locks a task, then its job, and the tasks
-- of the job are changed next.
SELECT job_id FROM job_dependencies WHERE job_id = :job_id
ORDER BY depends_on_job_id
FOR UPDATE;
