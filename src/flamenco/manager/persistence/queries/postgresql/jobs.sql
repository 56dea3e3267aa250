-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: fetch_jobs_in_status
SELECT * FROM job_view
WHERE status IN (SELECT json_array_elements_text(CAST(:statuses AS json)))
ORDER BY id;

-- name: fetch_job_for_update
-- The job, locked until the transaction ends: every change to a job's tasks that can
-- change the job's status takes this lock before counting them, so two processes
-- finishing a job's last two tasks at once cannot both miss the job's completion.
SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
FROM jobs
LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id
WHERE jobs.id = :id
FOR UPDATE OF jobs;
