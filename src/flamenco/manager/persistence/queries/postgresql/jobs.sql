-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: fetch_jobs_in_status
SELECT * FROM job_view
WHERE status IN (SELECT json_array_elements_text(CAST(:statuses AS json)))
ORDER BY id;

-- name: fetch_job_for_update
-- The job, locked until the transaction ends: every change to a job's tasks that can
-- change the job's status takes this lock before counting them, so two processes
-- finishing a job's last two tasks at once cannot both miss the job's completion.
-- NO KEY UPDATE, not UPDATE: a transaction that changed a task twice holds a key-share
-- lock on its job from PostgreSQL's foreign key check, and two such transactions
-- asking for the stronger lock would wait for each other.
SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
FROM jobs
LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id
WHERE jobs.id = :id
FOR NO KEY UPDATE OF jobs;

-- name: lock_job_moving_task
-- fetch_job_for_update and move_task_between_counts in one statement, a round trip
-- fewer for every task status change. `moved` reads `job`, so the job's row is
-- locked before its counts are touched, as in the two statements.
WITH job AS (
    SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
    FROM jobs
    LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id
    WHERE jobs.id = :job_id
    FOR NO KEY UPDATE OF jobs
), moved AS (
    INSERT INTO job_task_counts (job_id, status, num_tasks)
    SELECT job.id, counted.status, counted.delta
    FROM job, (VALUES (CAST(:old_status AS text), -1), (CAST(:new_status AS text), 1)) AS counted (status, delta)
    ON CONFLICT (job_id, status) DO UPDATE SET num_tasks = job_task_counts.num_tasks + excluded.num_tasks
)
SELECT * FROM job;

-- name: refresh_task_statistics
-- After a big job is stored, so that the scheduler's query plan knows the tasks are
-- there: otherwise PostgreSQL keeps planning as for an empty table until autovacuum
-- gets round to it, and scheduling takes a hundred times longer meanwhile. The jobs
-- too: without their statistics PostgreSQL guesses that one job is runnable, and
-- gathers and sorts every queued task of the farm (400 ms with 100,000 queued)
-- instead of walking tasks_schedulable to the first runnable one.
ANALYZE jobs, tasks, task_dependencies;
