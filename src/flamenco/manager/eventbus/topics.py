"""Event topics, which double as Socket.IO room names and MQTT topic suffixes."""

from __future__ import annotations

LIFECYCLE = "/lifecycle"
FARM_STATUS = "/status"
JOBS = "/jobs"
WORKERS = "/workers"
WORKER_TAGS = "/workertags"
LAST_RENDERED = "/last-rendered"
# Internal: no Socket.IO client can join it and MQTT does not publish it.
WORK_AVAILABLE = "/internal/work-available"


def job(job_uuid: str) -> str:
    """Task updates of one job."""
    return f"/jobs/{job_uuid}"


def job_last_rendered(job_uuid: str) -> str:
    return f"/jobs/{job_uuid}/last-rendered"


def task_log(task_uuid: str) -> str:
    return f"/tasklog/{task_uuid}"
