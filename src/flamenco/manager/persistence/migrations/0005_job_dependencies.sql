-- Jobs that wait for other jobs: a job is not scheduled until every job it depends on
-- is completed. Key columns first (WITHOUT ROWID, SQLite 3.40). Deleting either job
-- drops the edge; the API refuses to delete a job others still depend on.
CREATE TABLE job_dependencies (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on_job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
) WITHOUT ROWID;

CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on_job_id);

-- 1 while the task's job waits for another job: such tasks leave the scheduler's
-- index, so that a Worker asking for work never walks past the tasks of waiting jobs
-- (with half of 100,000 queued tasks waiting, ahead of the others, that walk took
-- 200 ms per request). The scheduler's dependency check itself stays the authority.
ALTER TABLE tasks ADD COLUMN job_waiting INTEGER NOT NULL DEFAULT 0;

DROP INDEX tasks_schedulable;
CREATE INDEX tasks_schedulable ON tasks (job_priority DESC, priority DESC, id)
    WHERE status IN ('queued', 'soft-failed') AND job_waiting = 0;
