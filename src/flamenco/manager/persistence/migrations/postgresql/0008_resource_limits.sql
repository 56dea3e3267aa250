-- Resource limits: a job may cap how many of its tasks run at once (max_workers), and
-- its job type may say which farm-wide named limits (licences, ...) each task type takes.
ALTER TABLE jobs ADD COLUMN max_workers INTEGER;

-- Which named resource limits the job's tasks of one type take while active, one unit
-- each; written at submission from the job type's declaration, so that editing the
-- job-type script later does not change jobs already stored. A job whose type declares
-- limits has rows for each of its task types; '' marks a type that takes none.
CREATE TABLE job_resource_limits (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    task_type TEXT NOT NULL,
    limit_name TEXT NOT NULL,
    PRIMARY KEY (job_id, task_type, limit_name)
);

CREATE INDEX jobs_max_workers ON jobs (status) WHERE max_workers IS NOT NULL;

-- The highest priority of a runnable job outside those at capacity: where the scheduler
-- starts its walk when a higher band of jobs is full (see scheduler.sql).
CREATE INDEX jobs_runnable_priority ON jobs (priority) WHERE status IN ('active', 'queued');

-- PostgreSQL expands `jobs.*` when a view is made: make it again to include max_workers.
DROP VIEW job_view;
CREATE VIEW job_view AS
SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
FROM jobs
LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id;
