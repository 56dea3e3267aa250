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

-- name: refresh_task_statistics
-- After a big job is stored, so that the scheduler's query plan knows the tasks are
-- there: otherwise PostgreSQL keeps planning as for an empty table until autovacuum
-- gets round to it, and scheduling takes a hundred times longer meanwhile. The jobs
-- too: without their statistics PostgreSQL guesses that one job is runnable, and
-- gathers and sorts every queued task of the farm (400 ms with 100,000 queued)
-- instead of walking tasks_schedulable to the first runnable one.
ANALYZE jobs, tasks, task_dependencies;
