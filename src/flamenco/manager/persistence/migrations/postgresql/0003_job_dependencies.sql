-- Jobs that wait for other jobs: a job is not scheduled until every job it depends on
-- is completed. Deleting either job drops the edge; the API refuses to delete a job
-- others still depend on.
CREATE TABLE job_dependencies (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on_job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
);
CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on_job_id);
