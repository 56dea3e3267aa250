-- Jobs that wait for other jobs: a job is not scheduled until every job it depends on
-- is completed. Key columns first (WITHOUT ROWID, SQLite 3.40). Deleting either job
-- drops the edge; the API refuses to delete a job others still depend on.
CREATE TABLE job_dependencies (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on_job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
) WITHOUT ROWID;

CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on_job_id);
