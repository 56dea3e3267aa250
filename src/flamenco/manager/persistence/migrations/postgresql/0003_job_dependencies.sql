-- Jobs that wait for other jobs: a job is not scheduled until every job it depends on
-- is completed. Deleting either job drops the edge; the API refuses to delete a job
-- others still depend on.
CREATE TABLE job_dependencies (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on_job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
);
CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on_job_id);

-- 1 while the task's job waits for another job: such tasks leave the scheduler's
-- index (see the SQLite migration of the same name).
ALTER TABLE tasks ADD COLUMN job_waiting INTEGER NOT NULL DEFAULT 0;

DROP INDEX tasks_schedulable;
CREATE INDEX tasks_schedulable ON tasks (job_priority DESC, priority DESC, id)
    WHERE status IN ('queued', 'soft-failed') AND job_waiting = 0;

-- PostgreSQL fixed the view's columns when it was made: make it again, with the new one.
DROP VIEW task_view;
CREATE VIEW task_view AS
SELECT
    tasks.*,
    jobs.uuid AS job_uuid,
    workers.uuid AS worker_uuid,
    workers.name AS worker_name,
    workers.address AS worker_address
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
LEFT JOIN workers ON workers.id = tasks.worker_id;
