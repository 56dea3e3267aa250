-- SQLite's own text of queries that PostgreSQL words differently (see ../postgresql/).

-- name: find_runnable_task
-- The first task this Worker may run, by job priority, task priority and submission
-- order; the partial index tasks_schedulable walks exactly that order. Jobs waiting
-- to be deleted are skipped: their tasks go a batch at a time.
-- It answers with fetch_task_ref's columns (what handing the task out starts from), when
-- the task last changed (joined the queue, for render statistics), when it got its
-- status (for the metrics) and the job's max_workers, to check capacity with.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total, tasks.updated_at, jobs.max_workers,
    tasks.status_changed_at, tasks.created_at
FROM tasks INDEXED BY tasks_schedulable
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.status IN ('queued', 'soft-failed')
  AND tasks.job_priority <= :priority_ceiling
  AND jobs.status IN ('active', 'queued')
  AND jobs.delete_requested_at IS NULL
  AND tasks.type IN (SELECT value FROM json_each(:task_types))
  AND NOT EXISTS (
    SELECT 1 FROM task_failures
    WHERE task_failures.task_id = tasks.id AND task_failures.worker_id = :worker_id
  )
  -- Unfinished dependencies are looked for from the newest down: the video task of a
  -- 6,000-frame job waits for the last frames, which are handed out last and finish
  -- last. Walked from the oldest, every idle Worker's ask near the job's end read
  -- all 6,000 (2.5 ms) and kept SQLite's one writer busy for seconds; from the
  -- newest, the first one read is unfinished (3 us). PostgreSQL keeps its fenced NOT
  -- EXISTS: this form did not show a gain there, and once stalled a restarted
  -- process's scheduling for seconds.
  AND (
    SELECT 1 FROM task_dependencies
    JOIN tasks AS dependency ON dependency.id = task_dependencies.dependency_id
    WHERE task_dependencies.task_id = tasks.id AND dependency.status != 'completed'
    ORDER BY task_dependencies.dependency_id DESC
    LIMIT 1
  ) IS NULL
  -- Job graph: approval tasks are for people, never for Workers, and a job waits
  -- until every job it depends on is completed (see job_dependencies.sql). The tasks
  -- of waiting jobs are not even in the index (job_waiting); the check after it is
  -- the rule itself, which the scheduling explainer shares.
  AND tasks.type != 'approval'
  AND tasks.job_waiting = 0
  AND NOT EXISTS (
    SELECT 1 FROM job_dependencies
    JOIN jobs AS dependency ON dependency.id = job_dependencies.depends_on_job_id
    WHERE job_dependencies.job_id = tasks.job_id AND dependency.status != 'completed'
  )
  AND NOT EXISTS (
    SELECT 1 FROM job_blocks
    WHERE job_blocks.job_id = tasks.job_id
      AND job_blocks.worker_id = :worker_id
      AND job_blocks.task_type = tasks.type
  )
  AND (
    jobs.worker_tag_id IS NULL
    OR jobs.worker_tag_id IN (
        SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = :worker_id
    )
  )
  -- Capacity (scheduling_rules.py decides which): jobs at their max_workers, and task
  -- types of a job that take an exhausted resource limit. Both lists are usually empty.
  AND tasks.job_id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(:full_jobs))
  AND NOT EXISTS (
    SELECT 1 FROM job_resource_limits
    WHERE job_resource_limits.job_id = tasks.job_id
      AND job_resource_limits.task_type = tasks.type
      AND job_resource_limits.limit_name IN (SELECT value FROM json_each(:exhausted_limits))
  )
ORDER BY tasks.job_priority DESC, tasks.priority DESC, tasks.id
LIMIT 1;

-- name: fetch_assigned_active_task
-- A task this Worker is already running in a runnable job; it gets it again
-- (fetch_task_ref's columns, as find_runnable_task).
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.worker_id = :worker_id
  AND tasks.status = 'active'
  AND jobs.status IN ('active', 'queued')
ORDER BY tasks.id
LIMIT 1;

-- name: fetch_limited_runnable_jobs
-- Every task type's limits (including '' for none) of the runnable jobs that take one of
-- :limits (a JSON list): the scheduler leaves out those whose every type is held back.
SELECT job_resource_limits.job_id, job_resource_limits.task_type, job_resource_limits.limit_name
FROM job_resource_limits
JOIN jobs ON jobs.id = job_resource_limits.job_id
WHERE jobs.status IN ('active', 'queued')
  AND job_resource_limits.job_id IN (
    SELECT job_id FROM job_resource_limits WHERE limit_name IN (SELECT value FROM json_each(:limits))
  );

-- name: fetch_priority_ceiling
-- The highest priority of a runnable job not in :jobs (a JSON list of those at capacity):
-- find_runnable_task starts there, rather than walking past every queued task of a higher,
-- full band of jobs (50,000 of them took 50 ms). Walks jobs_runnable_priority downwards.
SELECT priority FROM jobs
WHERE status IN ('active', 'queued')
  AND delete_requested_at IS NULL
  -- Nor a job waiting for others: its tasks are out of the walk already (job_waiting).
  AND NOT EXISTS (
    SELECT 1 FROM job_dependencies
    JOIN jobs AS dependency ON dependency.id = job_dependencies.depends_on_job_id
    WHERE job_dependencies.job_id = jobs.id AND dependency.status != 'completed'
  )
  AND id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(:jobs))
ORDER BY priority DESC
LIMIT 1;
