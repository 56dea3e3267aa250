"""Database records to API bodies, shaped as the spec's schemas."""

from __future__ import annotations

from typing import Any

from flamenco.api import wire
from flamenco.manager.persistence.models import (
    BlocklistEntry,
    Job,
    Task,
    TaskWorkerRef,
    Worker,
    WorkerTag,
)
from flamenco.manager.state_machine.job_graph_rules import JobRef


def job(record: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.uuid,
        "name": record.name,
        "type": record.job_type,
        "priority": record.priority,
        "status": record.status,
        "activity": record.activity,
        "created": wire.format_time(record.created_at),
        "updated": wire.format_time(record.updated_at),
        "steps_completed": record.steps_completed,
        "steps_total": record.steps_total,
        "settings": record.settings,
        "metadata": record.metadata,
        "submitter_platform": record.submitter_platform,
    }
    if record.shaman_checkout_id:
        body["storage"] = {"shaman_checkout_id": record.shaman_checkout_id}
    if record.worker_tag_uuid:
        body["worker_tag"] = record.worker_tag_uuid
    if record.delete_requested_at is not None:
        body["delete_requested_at"] = wire.format_time(record.delete_requested_at)
    if record.max_workers is not None:
        body["max_workers"] = record.max_workers
    if record.depends_on:
        body["depends_on"] = list(record.depends_on)
    return body


def job_ref(record: JobRef) -> dict[str, Any]:
    return {"id": record.uuid, "name": record.name, "status": record.status}


def task_worker(ref: TaskWorkerRef) -> dict[str, Any]:
    return {"id": ref.uuid, "name": ref.name, "address": ref.address}


def task_summary(record: Task) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.uuid,
        "name": record.name,
        "status": record.status,
        "index_in_job": record.index_in_job,
        "priority": record.priority,
        "task_type": record.task_type,
        "updated": wire.format_time(record.updated_at),
        "steps_completed": record.steps_completed,
        "steps_total": record.steps_total,
    }
    if record.worker is not None:
        body["worker"] = task_worker(record.worker)
    return body


def task(record: Task, failed_by_workers: list[TaskWorkerRef]) -> dict[str, Any]:
    body = task_summary(record)
    body.update(
        {
            "created": wire.format_time(record.created_at),
            "job_id": record.job_uuid,
            "activity": record.activity,
            "commands": record.commands,
        }
    )
    if record.last_touched_at is not None:
        body["last_touched"] = wire.format_time(record.last_touched_at)
    if failed_by_workers:
        body["failed_by_workers"] = [task_worker(ref) for ref in failed_by_workers]
    return body


def assigned_task(record: Task, job_record: Job, commands: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uuid": record.uuid,
        "job": job_record.uuid,
        "name": record.name,
        "status": record.status,
        "priority": record.priority,
        "job_priority": job_record.priority,
        "job_type": job_record.job_type,
        "task_type": record.task_type,
        "commands": commands,
        "steps_completed": record.steps_completed,
        "steps_total": record.steps_total,
    }


def worker_summary(record: Worker) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.uuid,
        "name": record.name,
        "status": record.status,
        "version": record.software,
        "can_restart": record.can_restart,
    }
    if record.status_requested is not None:
        body["status_change"] = {
            "status": record.status_requested,
            "is_lazy": record.lazy_status_request,
        }
    if record.last_seen_at is not None:
        body["last_seen"] = wire.format_time(record.last_seen_at)
    return body


def worker(record: Worker, tags: list[WorkerTag], last_task: Task | None) -> dict[str, Any]:
    body = worker_summary(record)
    body.update(
        {
            "ip_address": record.address,
            "platform": record.platform,
            "supported_task_types": list(record.supported_task_types),
        }
    )
    if last_task is not None:
        body["task"] = {**task_summary(last_task), "job_id": last_task.job_uuid}
    if tags:
        body["tags"] = [worker_tag(tag) for tag in tags]
    return body


def registered_worker(record: Worker) -> dict[str, Any]:
    return {
        "uuid": record.uuid,
        "name": record.name,
        "address": record.address,
        "status": record.status,
        "platform": record.platform,
        "software": record.software,
        "supported_task_types": list(record.supported_task_types),
        # Required by the Flamenco 3 schema without being declared there.
        "current_task": None,
    }


def worker_tag(record: WorkerTag) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record.uuid, "name": record.name}
    if record.description:
        body["description"] = record.description
    return body


def blocklist_entry(entry: BlocklistEntry) -> dict[str, Any]:
    return {
        "worker_id": entry.worker_uuid,
        "worker_name": entry.worker_name,
        "task_type": entry.task_type,
    }
