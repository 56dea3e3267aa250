-- When a task last showed progress (log output, steps, status), for the no-progress watchdog.
ALTER TABLE tasks ADD COLUMN last_progress_at TEXT;
