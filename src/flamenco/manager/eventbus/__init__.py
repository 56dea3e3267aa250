"""The event bus: in-process publishing of job, task, worker and farm events."""
