-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: find_runnable_task
-- The first task this Worker may run, by job priority, task priority and submission
-- order (the order of the partial index tasks_schedulable). The task's row stays locked
-- until the transaction ends, and rows other processes have locked are skipped: two
-- Workers asking at once, through any Manager process, never get the same task.
-- OFFSET 0 keeps the dependency check a lookup per candidate task: as an anti-join,
-- PostgreSQL would first gather every unfinished dependency of the whole farm (10,000
-- of them for one video task), on every call; the scalar subquery looks each
-- dependency up by its key for the same reason. The other checks stay plain: fenced
-- too, they make the planner count every queued task and sort them (30 ms with
-- 10,000 queued) instead of walking tasks_schedulable to the first match (1 ms).
-- It answers with fetch_task_ref's columns (what handing the task out starts from), when
-- the task last changed (joined the queue, for render statistics), when it got its
-- status (for the metrics) and the job's max_workers, to check capacity with.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total, tasks.updated_at, jobs.max_workers,
    tasks.status_changed_at, tasks.created_at
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.status IN ('queued', 'soft-failed')
  AND tasks.job_priority <= :priority_ceiling
  AND jobs.status IN ('active', 'queued')
  AND jobs.delete_requested_at IS NULL
  AND tasks.type IN (SELECT json_array_elements_text(CAST(:task_types AS json)))
  AND NOT EXISTS (
    SELECT 1 FROM task_failures
    WHERE task_failures.task_id = tasks.id AND task_failures.worker_id = :worker_id
  )
  AND NOT EXISTS (
    SELECT 1 FROM task_dependencies
    WHERE task_dependencies.task_id = tasks.id
      AND (SELECT dependency.status FROM tasks AS dependency
           WHERE dependency.id = task_dependencies.dependency_id) != 'completed'
    OFFSET 0
  )
  -- Job graph: approval tasks are for people, never for Workers, and a job waits
  -- until every job it depends on is completed (see job_dependencies.sql). The tasks
  -- of waiting jobs are not even in the index (job_waiting); the check after it is
  -- the rule itself, which the scheduling explainer shares. Fenced and
  -- looked up by key as the task dependency check above, for the same reason.
  AND tasks.type != 'approval'
  AND tasks.job_waiting = 0
  AND NOT EXISTS (
    SELECT 1 FROM job_dependencies
    WHERE job_dependencies.job_id = tasks.job_id
      AND (SELECT dependency.status FROM jobs AS dependency
           WHERE dependency.id = job_dependencies.depends_on_job_id) != 'completed'
    OFFSET 0
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
  AND tasks.job_id NOT IN (SELECT CAST(json_array_elements_text(CAST(:full_jobs AS json)) AS bigint))
  AND NOT EXISTS (
    SELECT 1 FROM job_resource_limits
    WHERE job_resource_limits.job_id = tasks.job_id
      AND job_resource_limits.task_type = tasks.type
      AND job_resource_limits.limit_name IN (SELECT json_array_elements_text(CAST(:exhausted_limits AS json)))
  )
ORDER BY tasks.job_priority DESC, tasks.priority DESC, tasks.id
LIMIT 1
FOR UPDATE OF tasks SKIP LOCKED;

-- name: fetch_assigned_active_task
-- A task this Worker is already running in a runnable job; it gets it again
-- (fetch_task_ref's columns, as find_runnable_task). Locked, and so read as it is once
-- a transaction changing it meanwhile (the timeout checker failing it) has ended:
-- handing it out again starts from its status.
SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id, jobs.uuid AS job_uuid,
    tasks.type, tasks.steps_completed, tasks.steps_total
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
WHERE tasks.worker_id = :worker_id
  AND tasks.status = 'active'
  AND jobs.status IN ('active', 'queued')
ORDER BY tasks.id
LIMIT 1
FOR NO KEY UPDATE OF tasks;

-- name: lock_resource_limit
-- Held until the transaction ends, taken after the task's and the job's locks (the lock
-- order is Worker, task, job, limit) and in name order: two processes starting tasks
-- that take the same limit count its use one after the other.
SELECT pg_advisory_xact_lock(hashtextextended('flamenco-resource-limit:' || :name, 0));

-- name: fetch_limited_runnable_jobs
-- Every task type's limits (including '' for none) of the runnable jobs that take one of
-- :limits (a JSON list): the scheduler leaves out those whose every type is held back.
SELECT job_resource_limits.job_id, job_resource_limits.task_type, job_resource_limits.limit_name
FROM job_resource_limits
JOIN jobs ON jobs.id = job_resource_limits.job_id
WHERE jobs.status IN ('active', 'queued')
  AND job_resource_limits.job_id IN (
    SELECT job_id FROM job_resource_limits WHERE limit_name IN (SELECT json_array_elements_text(CAST(:limits AS json)))
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
  AND id NOT IN (SELECT CAST(json_array_elements_text(CAST(:jobs AS json)) AS bigint))
ORDER BY priority DESC
LIMIT 1;

-- name: start_scheduling
-- What every scheduleTask starts from, in one statement: the Worker marked seen
-- (mark_worker_seen_returning), the task it already runs if any (fetch_assigned_active_task,
-- its columns prefixed assigned_, locked the same way) and fetch_capped_runnable_jobs as
-- a JSON array of [job ID, max_workers, active tasks]. The Worker's row is locked
-- before the task's (`assigned` reads `seen`): the order every transaction locks them in.
WITH seen AS (
    UPDATE workers SET last_seen_at = :now WHERE uuid = :uuid AND deleted_at IS NULL
    RETURNING *
)
SELECT seen.*,
    assigned.id AS assigned_id, assigned.uuid AS assigned_uuid,
    assigned.status AS assigned_status, assigned.worker_id AS assigned_worker_id,
    assigned.job_id AS assigned_job_id, assigned.job_uuid AS assigned_job_uuid,
    assigned.type AS assigned_type, assigned.steps_completed AS assigned_steps_completed,
    assigned.steps_total AS assigned_steps_total,
    (SELECT json_agg(json_build_array(jobs.id, jobs.max_workers, coalesce(counts.num_tasks, 0)))
     FROM jobs
     LEFT JOIN job_task_counts AS counts
       ON counts.job_id = jobs.id AND counts.status = 'active'
     WHERE jobs.max_workers IS NOT NULL
       AND jobs.status IN ('active', 'queued')) AS capped_jobs
FROM seen
LEFT JOIN LATERAL (
    SELECT tasks.id, tasks.uuid, tasks.status, tasks.worker_id, tasks.job_id,
        jobs.uuid AS job_uuid, tasks.type, tasks.steps_completed, tasks.steps_total
    FROM tasks
    JOIN jobs ON jobs.id = tasks.job_id
    WHERE tasks.worker_id = seen.id
      AND tasks.status = 'active'
      AND jobs.status IN ('active', 'queued')
    ORDER BY tasks.id
    LIMIT 1
    FOR NO KEY UPDATE OF tasks
) AS assigned ON true;
