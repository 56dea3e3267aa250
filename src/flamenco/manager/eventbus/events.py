"""Event payloads, shaped like the OpenAPI Event* schemas, and the events that carry them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flamenco.api import wire
from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.eventbus import topics
from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.persistence.models import Job, Task, Worker, WorkerTag


def job_updated(
    job: Job, *, previous_status: JobStatus | None = None, refresh_tasks: bool = False
) -> Event:
    payload: dict[str, Any] = {
        "id": job.uuid,
        "name": job.name,
        "updated": wire.format_time(job.updated_at),
        "status": job.status,
        "type": job.job_type,
        "priority": job.priority,
        "refresh_tasks": refresh_tasks,
        "steps_completed": job.steps_completed,
        "steps_total": job.steps_total,
    }
    if previous_status is not None:
        payload["previous_status"] = previous_status
    if job.delete_requested_at is not None:
        payload["delete_requested_at"] = wire.format_time(job.delete_requested_at)
    return Event(topics.JOBS, EventKind.JOB_UPDATE, payload)


def job_deleted(job_uuid: str) -> Event:
    return Event(topics.JOBS, EventKind.JOB_UPDATE, {"id": job_uuid, "was_deleted": True})


def task_updated(task: Task, *, previous_status: TaskStatus | None = None) -> Event:
    payload: dict[str, Any] = {
        "id": task.uuid,
        "job_id": task.job_uuid,
        "name": task.name,
        "updated": wire.format_time(task.updated_at),
        "status": task.status,
        "activity": task.activity,
        "steps_completed": task.steps_completed,
        "steps_total": task.steps_total,
    }
    if task.worker is not None:
        payload["worker"] = {"name": task.worker.name, "uuid": task.worker.uuid}
    if previous_status is not None:
        payload["previous_status"] = previous_status
    return Event(topics.job(task.job_uuid), EventKind.TASK_UPDATE, payload)


def task_log_updated(task_uuid: str, log: str) -> Event:
    return Event(
        topics.task_log(task_uuid), EventKind.TASK_LOG_UPDATE, {"task_id": task_uuid, "log": log}
    )


def worker_updated(worker: Worker, *, previous_status: WorkerStatus | None = None) -> Event:
    payload: dict[str, Any] = {
        "id": worker.uuid,
        "name": worker.name,
        "updated": wire.format_time(worker.updated_at or worker.created_at),
        "status": worker.status,
        "version": worker.software,
        "can_restart": worker.can_restart,
    }
    if worker.last_seen_at is not None:
        payload["last_seen"] = wire.format_time(worker.last_seen_at)
    if previous_status is not None:
        payload["previous_status"] = previous_status
    if worker.status_requested is not None:
        payload["status_change"] = {
            "status": worker.status_requested,
            "is_lazy": worker.lazy_status_request,
        }
    if worker.deleted_at is not None:
        payload["deleted_at"] = wire.format_time(worker.deleted_at)
    return Event(topics.WORKERS, EventKind.WORKER_UPDATE, payload)


def worker_tag_updated(tag: WorkerTag, *, was_deleted: bool = False) -> Event:
    payload: dict[str, Any] = {"tag": {"id": tag.uuid, "name": tag.name}}
    if tag.description:
        payload["tag"]["description"] = tag.description
    if was_deleted:
        payload["was_deleted"] = True
    return Event(topics.WORKER_TAGS, EventKind.WORKER_TAG_UPDATE, payload)


def work_available(worker_uuids: Iterable[str] | None = None) -> Event:
    """Work may be waiting for these Workers (None: for any), where no other event says so."""
    payload: dict[str, Any] = {}
    if worker_uuids is not None:
        payload["workers"] = sorted(set(worker_uuids))
    return Event(topics.WORK_AVAILABLE, EventKind.WORK_AVAILABLE, payload)


def lifecycle(kind: str) -> Event:
    return Event(topics.LIFECYCLE, EventKind.LIFECYCLE, {"type": kind})


def farm_status(status: str) -> Event:
    return Event(topics.FARM_STATUS, EventKind.FARM_STATUS, {"status": status})
