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
