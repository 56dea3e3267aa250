-- SQLite's own text of queries that PostgreSQL words differently (see ../postgresql/).

-- name: fetch_jobs_in_status
SELECT * FROM job_view WHERE status IN (SELECT value FROM json_each(:statuses)) ORDER BY id;

-- name: fetch_job_for_update
-- SQLite has one writer at a time, so a transaction that writes owns the whole database.
SELECT * FROM job_view WHERE id = :id;

-- name: refresh_task_statistics
-- Nothing to do: SQLite's scheduler query names the index it walks (INDEXED BY).
SELECT 1;
