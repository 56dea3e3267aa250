"""The events the Manager publishes, built from its records into the spec's Event* payloads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from flamenco.api import wire
from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.eventbus import payloads, topics
from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.persistence.models import Job, Task, Worker, WorkerTag


def job_updated(
    job: Job, *, previous_status: JobStatus | None = None, refresh_tasks: bool = False
) -> Event:
    payload = _job_payload(job, previous_status=previous_status, refresh_tasks=refresh_tasks)
    return Event(topics.JOBS, EventKind.JOB_UPDATE, payload)


def job_deleted(job: Job) -> Event:
    """The job as it was when deleted; clients only need its `id` and `was_deleted`."""
    payload = _job_payload(job, previous_status=None, refresh_tasks=False)
    payload["was_deleted"] = True
    return Event(topics.JOBS, EventKind.JOB_UPDATE, payload)


def _job_payload(
    job: Job, *, previous_status: JobStatus | None, refresh_tasks: bool
) -> payloads.EventJobUpdate:
    payload: payloads.EventJobUpdate = {
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
    return payload


def task_updated(task: Task, *, previous_status: TaskStatus | None = None) -> Event:
    payload: payloads.EventTaskUpdate = {
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
    payload: payloads.EventWorkerUpdate = {
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
    payload: payloads.EventWorkerTagUpdate = {"tag": {"id": tag.uuid, "name": tag.name}}
    if tag.description:
        payload["tag"]["description"] = tag.description
    if was_deleted:
        payload["was_deleted"] = True
    return Event(topics.WORKER_TAGS, EventKind.WORKER_TAG_UPDATE, payload)


def work_available(worker_uuids: Iterable[str] | None = None) -> Event:
    """Work may be waiting for these Workers (None: for any), where no other event says so.

    Internal: it wakes our Workers' work notices, and no client ever sees it.
    """
    payload: payloads.WorkAvailable = {}
    if worker_uuids is not None:
        payload["workers"] = sorted(set(worker_uuids))
    return Event(topics.WORK_AVAILABLE, EventKind.WORK_AVAILABLE, payload)


def lifecycle(kind: Literal["manager-startup", "manager-shutdown"]) -> Event:
    return Event(topics.LIFECYCLE, EventKind.LIFECYCLE, {"type": kind})


def farm_status(status: str, alarms: list[payloads.FarmAlarm] | None = None) -> Event:
    """The FarmStatusReport; our `alarms` only while there are any, so upstream sees its own."""
    payload: payloads.EventFarmStatus = {"status": status}
    if alarms:
        payload["alarms"] = alarms
    return Event(topics.FARM_STATUS, EventKind.FARM_STATUS, payload)


def last_rendered_updated(
    topic: str, job_uuid: str, task_uuid: str, thumbnail: payloads.LastRenderedImageInfo
) -> Event:
    payload: payloads.EventLastRenderedUpdate = {
        "job_id": job_uuid,
        "task_id": task_uuid,
        "thumbnail": thumbnail,
    }
    return Event(topic, EventKind.LAST_RENDERED_UPDATE, payload)
