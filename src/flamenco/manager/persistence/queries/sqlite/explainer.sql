-- SQLite's own text of the explainer's queries that PostgreSQL words differently.

-- name: fetch_ready_tasks_of_job
-- The job's tasks the scheduler may pick (queued or soft-failed, dependencies
-- completed, not for people to approve), in its order, up to :limit; the explainer's
-- view of "the next task".
SELECT tasks.id, tasks.type FROM tasks
WHERE tasks.job_id = :job_id
  AND tasks.status IN ('queued', 'soft-failed')
  AND tasks.type != 'approval'
  AND NOT EXISTS (
    SELECT 1 FROM task_dependencies
    JOIN tasks AS dependency ON dependency.id = task_dependencies.dependency_id
    WHERE task_dependencies.task_id = tasks.id AND dependency.status != 'completed'
  )
ORDER BY tasks.priority DESC, tasks.id
LIMIT :limit;
