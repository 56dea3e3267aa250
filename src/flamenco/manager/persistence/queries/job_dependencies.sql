-- Jobs waiting for other jobs (job_dependencies), and approval tasks. The scheduler's
-- own rule lives in sqlite|postgresql/scheduler.sql ("Job graph" condition).

-- name: insert_job_dependency
INSERT INTO job_dependencies (job_id, depends_on_job_id) VALUES (:job_id, :depends_on_job_id);

-- name: fetch_job_dependencies
-- The jobs this job depends on, oldest first.
SELECT jobs.id, jobs.uuid, jobs.name, jobs.status, jobs.delete_requested_at
FROM job_dependencies
JOIN jobs ON jobs.id = job_dependencies.depends_on_job_id
WHERE job_dependencies.job_id = :job_id
ORDER BY jobs.id;

-- name: fetch_job_dependents
-- The jobs that depend on this job directly, oldest first.
SELECT jobs.id, jobs.uuid, jobs.name, jobs.status, jobs.delete_requested_at
FROM job_dependencies
JOIN jobs ON jobs.id = job_dependencies.job_id
WHERE job_dependencies.depends_on_job_id = :job_id
ORDER BY jobs.id;

-- name: fetch_transitive_dependents
-- Every job that depends on this job, directly or through other jobs.
WITH RECURSIVE dependents (id) AS (
    SELECT job_id FROM job_dependencies WHERE depends_on_job_id = :job_id
    UNION
    SELECT job_dependencies.job_id
    FROM job_dependencies
    JOIN dependents ON job_dependencies.depends_on_job_id = dependents.id
)
SELECT jobs.id, jobs.uuid, jobs.name, jobs.status, jobs.delete_requested_at
FROM jobs
WHERE jobs.id IN (SELECT id FROM dependents)
ORDER BY jobs.id;

-- name: fetch_all_job_dependency_uuids
-- For job listings: every dependency edge, as (job ID, UUID of the job it depends on).
SELECT job_dependencies.job_id, jobs.uuid AS depends_on_uuid
FROM job_dependencies
JOIN jobs ON jobs.id = job_dependencies.depends_on_job_id
ORDER BY job_dependencies.job_id, jobs.id;

-- name: save_job_activity
UPDATE jobs SET activity = :activity, updated_at = :now WHERE id = :id;

-- name: fetch_approval_tasks_of_job
-- The job's approval tasks, with how many of the tasks they depend on are unfinished.
SELECT task_view.*,
    (SELECT count(*) FROM task_dependencies
     JOIN tasks AS dependency ON dependency.id = task_dependencies.dependency_id
     WHERE task_dependencies.task_id = task_view.id AND dependency.status != 'completed'
    ) AS unfinished_dependencies
FROM task_view
WHERE task_view.job_id = :job_id AND task_view.type = 'approval'
ORDER BY task_view.index_in_job;

-- name: fetch_job_ref
-- A job as another job's dependency, without locking it (checking a submission).
SELECT id, uuid, name, status, delete_requested_at FROM jobs WHERE uuid = :uuid;

-- name: set_job_waiting
-- Take the job's tasks out of the scheduler's index while the job waits for another
-- job, and back in when it no longer does (tasks.job_waiting).
UPDATE tasks SET job_waiting = :waiting WHERE job_id = :job_id AND job_waiting != :waiting;

-- name: reconcile_job_waiting
-- At start-up: every task's job_waiting as its job's dependencies say, in case the
-- Manager stopped between a job's status change and telling the jobs waiting for it.
UPDATE tasks SET job_waiting = 1 - job_waiting
WHERE job_id IN (SELECT job_id FROM job_dependencies)
  AND job_waiting != CASE WHEN EXISTS (
      SELECT 1 FROM job_dependencies
      JOIN jobs AS dependency ON dependency.id = job_dependencies.depends_on_job_id
      WHERE job_dependencies.job_id = tasks.job_id AND dependency.status != 'completed'
  ) THEN 1 ELSE 0 END;

-- name: clear_job_waiting_without_dependencies
-- At start-up too: a job whose dependencies are all gone waits for nothing.
UPDATE tasks SET job_waiting = 0
WHERE job_waiting = 1 AND job_id NOT IN (SELECT job_id FROM job_dependencies);
