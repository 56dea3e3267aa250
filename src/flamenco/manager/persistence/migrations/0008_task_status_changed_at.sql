-- When a task last changed status, so that the Manager's metrics can tell how long a task
-- waited in the queue and how long it ran (flamenco_task_queue_wait_seconds,
-- flamenco_task_duration_seconds). NULL for tasks that have not changed status since.
ALTER TABLE tasks ADD COLUMN status_changed_at TEXT;
