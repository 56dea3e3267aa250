-- How many tasks of each job are in each status, kept up to date with every task status
-- change, so that deciding a job's status does not count all its tasks each time.
CREATE TABLE job_task_counts (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    num_tasks INTEGER NOT NULL,
    PRIMARY KEY (job_id, status)
);

INSERT INTO job_task_counts (job_id, status, num_tasks)
SELECT job_id, status, count(*) FROM tasks GROUP BY job_id, status;
