-- PostgreSQL's own text of the explainer's queries that SQLite words differently.

-- name: fetch_ready_tasks_of_job
-- The job's tasks the scheduler may pick (queued or soft-failed, dependencies
-- completed, not for people to approve), in its order, up to :limit; the explainer's
-- view of "the next task". As in find_runnable_task, OFFSET 0 keeps the dependency
-- check a lookup per task: as an anti-join, PostgreSQL gathers every unfinished
-- dependency of the farm first (110 ms with 100,000 tasks).
SELECT tasks.id, tasks.type FROM tasks
WHERE tasks.job_id = :job_id
  AND tasks.status IN ('queued', 'soft-failed')
  AND tasks.type != 'approval'
  AND NOT EXISTS (
    SELECT 1 FROM task_dependencies
    WHERE task_dependencies.task_id = tasks.id
      AND (SELECT dependency.status FROM tasks AS dependency
           WHERE dependency.id = task_dependencies.dependency_id) != 'completed'
    OFFSET 0
  )
ORDER BY tasks.priority DESC, tasks.id
LIMIT :limit;
