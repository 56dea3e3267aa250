"""The notification payload: what happened, as plain JSON-able data (pure)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flamenco.api import wire
from flamenco.manager.config.schema import NotificationEvent
from flamenco.manager.persistence.models import Job, Worker

# Job metadata keys that name the artist who submitted it (our add-on sends both;
# upstream's sends neither, and then only the configured recipients are mailed).
SUBMITTER_NAME_KEY = "user.name"
SUBMITTER_EMAIL_KEY = "user.email"

_JOB_SUMMARIES = {
    NotificationEvent.JOB_COMPLETED: 'Job "{name}" completed',
    NotificationEvent.JOB_FAILED: 'Job "{name}" failed',
    NotificationEvent.JOB_WAITING_FOR_APPROVAL: 'Job "{name}" is waiting for approval',
}


def job_payload(
    event: NotificationEvent,
    job: Job,
    *,
    manager_name: str,
    now: dt.datetime,
    previous_status: str = "",
    detail: str = "",
) -> dict[str, Any]:
    """The payload of an event about a job; `job` may hold its status before the change."""
    summary = _JOB_SUMMARIES.get(event, 'Job "{name}": ' + str(event)).format(name=job.name)
    return {
        **_envelope(event, manager_name, now, summary, detail),
        "job": {
            "id": job.uuid,
            "name": job.name,
            "type": job.job_type,
            "priority": job.priority,
            "status": _status_after(event, job.status),
            "previous_status": previous_status or str(job.status),
            "submitter": {
                "name": job.metadata.get(SUBMITTER_NAME_KEY, ""),
                "email": job.metadata.get(SUBMITTER_EMAIL_KEY, ""),
            },
        },
    }


def worker_payload(
    event: NotificationEvent,
    worker: Worker,
    *,
    manager_name: str,
    now: dt.datetime,
    status: str,
    detail: str = "",
) -> dict[str, Any]:
    """The payload of an event about a Worker that went to `status`."""
    summary = f'Worker "{worker.name}" went to status {status}'
    return {
        **_envelope(event, manager_name, now, summary, detail),
        "worker": {
            "id": worker.uuid,
            "name": worker.name,
            "address": worker.address,
            "status": status,
            "previous_status": str(worker.status),
        },
    }


def submitter_email(payload: dict[str, Any]) -> str:
    """The artist's address from a job payload; empty when the add-on sent none."""
    job = payload.get("job") or {}
    return str((job.get("submitter") or {}).get("email", "")).strip()


def _envelope(
    event: NotificationEvent, manager_name: str, now: dt.datetime, summary: str, detail: str
) -> dict[str, Any]:
    return {
        "event": str(event),
        "event_id": str(uuid.uuid4()),
        "occurred_at": wire.format_time(now),
        "manager": {"name": manager_name},
        "summary": summary,
        "detail": detail,
    }


def _status_after(event: NotificationEvent, status: str) -> str:
    if event == NotificationEvent.JOB_COMPLETED:
        return "completed"
    if event == NotificationEvent.JOB_FAILED:
        return "failed"
    return str(status)
