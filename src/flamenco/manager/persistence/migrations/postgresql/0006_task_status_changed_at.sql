-- When a task last changed status, so that the Manager's metrics can tell how long a task
-- waited in the queue and how long it ran (flamenco_task_queue_wait_seconds,
-- flamenco_task_duration_seconds). NULL for tasks that have not changed status since.
ALTER TABLE tasks ADD COLUMN status_changed_at TEXT;

-- PostgreSQL fixes a view's columns when it is made: remade, task_view has the new one too.
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
