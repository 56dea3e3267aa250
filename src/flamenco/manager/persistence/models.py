"""Database records as frozen dataclasses, and the timestamp codec they share."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.persistence.connection import Row


def to_db_time(moment: dt.datetime) -> str:
    """Fixed-width UTC text, so that timestamps compare correctly as strings."""
    # isoformat() is several times cheaper than strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    # and this runs for every timestamp of every statement.
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def from_db_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def status_since(
    status: TaskStatus, status_changed_at: dt.datetime | None, created_at: dt.datetime
) -> dt.datetime | None:
    """When a task got its current status, if known: for tasks that stayed queued since
    their job was submitted, that is their creation."""
    if status_changed_at is not None:
        return status_changed_at
    if status == TaskStatus.QUEUED:
        return created_at
    return None


def optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: int
    uuid: str
    created_at: dt.datetime
    updated_at: dt.datetime
    name: str
    job_type: str
    priority: int
    status: JobStatus
    activity: str
    settings: dict[str, Any]
    metadata: dict[str, str]
    submitter_platform: str
    delete_requested_at: dt.datetime | None
    shaman_checkout_id: str
    worker_tag_id: int | None
    worker_tag_uuid: str | None
    steps_completed: int
    steps_total: int
    # At most this many of the job's tasks active at once; None: no cap.
    max_workers: int | None = None
    # IDs of the jobs this job waits for (job_dependencies); filled in where the
    # job is shown, not by from_row().
    depends_on: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> Job:
        """The job from its row, each column named with `prefix` before it."""
        return cls(
            id=row[prefix + "id"],
            uuid=row[prefix + "uuid"],
            created_at=from_db_time(row[prefix + "created_at"]),
            updated_at=from_db_time(row[prefix + "updated_at"]),
            name=row[prefix + "name"],
            job_type=row[prefix + "job_type"],
            priority=row[prefix + "priority"],
            status=JobStatus(row[prefix + "status"]),
            activity=row[prefix + "activity"],
            settings=json.loads(row[prefix + "settings"]),
            metadata=json.loads(row[prefix + "metadata"]),
            submitter_platform=row[prefix + "submitter_platform"],
            delete_requested_at=optional_time(row[prefix + "delete_requested_at"]),
            shaman_checkout_id=row[prefix + "storage_shaman_checkout_id"],
            worker_tag_id=row[prefix + "worker_tag_id"],
            worker_tag_uuid=row[prefix + "worker_tag_uuid"],
            steps_completed=row[prefix + "steps_completed"],
            steps_total=row[prefix + "steps_total"],
            max_workers=row[prefix + "max_workers"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskWorkerRef:
    """The Worker a task was last assigned to."""

    id: int
    uuid: str
    name: str
    address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    id: int
    uuid: str
    created_at: dt.datetime
    updated_at: dt.datetime
    name: str
    task_type: str
    job_id: int
    job_uuid: str
    index_in_job: int
    priority: int
    status: TaskStatus
    worker: TaskWorkerRef | None
    last_touched_at: dt.datetime | None
    commands: list[dict[str, Any]]
    activity: str
    steps_completed: int
    steps_total: int
    # When the task got its current status; None if unknown (see status_since()).
    status_changed_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> Task:
        worker = None
        if row["worker_id"] is not None:
            worker = TaskWorkerRef(
                id=row["worker_id"],
                uuid=row["worker_uuid"],
                name=row["worker_name"],
                address=row["worker_address"],
            )
        return cls(
            id=row["id"],
            uuid=row["uuid"],
            created_at=from_db_time(row["created_at"]),
            updated_at=from_db_time(row["updated_at"]),
            name=row["name"],
            task_type=row["type"],
            job_id=row["job_id"],
            job_uuid=row["job_uuid"],
            index_in_job=row["index_in_job"],
            priority=row["priority"],
            status=TaskStatus(row["status"]),
            worker=worker,
            last_touched_at=optional_time(row["last_touched_at"]),
            commands=json.loads(row["commands"]),
            activity=row["activity"],
            steps_completed=row["steps_completed"],
            steps_total=row["steps_total"],
            status_changed_at=optional_time(row["status_changed_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRef:
    """The few facts about a task that a Worker's progress report needs."""

    id: int
    uuid: str
    status: TaskStatus
    worker_id: int | None
    job_id: int
    job_uuid: str
    task_type: str
    steps_completed: int
    steps_total: int
    # When the task last changed, and when it got its current status; only the
    # scheduler loads these (see find_runnable_task).
    updated_at: dt.datetime | None = None
    status_since: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> TaskRef:
        """The task from fetch_task_ref's columns, each named with `prefix` before it."""
        return cls(
            id=row[prefix + "id"],
            uuid=row[prefix + "uuid"],
            status=TaskStatus(row[prefix + "status"]),
            worker_id=row[prefix + "worker_id"],
            job_id=row[prefix + "job_id"],
            job_uuid=row[prefix + "job_uuid"],
            task_type=row[prefix + "type"],
            steps_completed=row[prefix + "steps_completed"],
            steps_total=row[prefix + "steps_total"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Worker:
    id: int
    uuid: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    secret_hash: str
    name: str
    address: str
    platform: str
    software: str
    status: WorkerStatus
    last_seen_at: dt.datetime | None
    status_requested: WorkerStatus | None
    lazy_status_request: bool
    supported_task_types: tuple[str, ...]
    deleted_at: dt.datetime | None
    can_restart: bool

    @classmethod
    def from_row(cls, row: Row) -> Worker:
        return cls(
            id=row["id"],
            uuid=row["uuid"],
            created_at=from_db_time(row["created_at"]),
            updated_at=optional_time(row["updated_at"]),
            secret_hash=row["secret"],
            name=row["name"],
            address=row["address"],
            platform=row["platform"],
            software=row["software"],
            status=WorkerStatus(row["status"]),
            last_seen_at=optional_time(row["last_seen_at"]),
            status_requested=WorkerStatus(row["status_requested"])
            if row["status_requested"]
            else None,
            lazy_status_request=bool(row["lazy_status_request"]),
            supported_task_types=split_task_types(row["supported_task_types"]),
            deleted_at=optional_time(row["deleted_at"]),
            can_restart=bool(row["can_restart"]),
        )


def split_task_types(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def join_task_types(task_types: list[str] | tuple[str, ...]) -> str:
    cleaned = (t.strip().lower() for t in task_types)
    return ",".join(dict.fromkeys(t for t in cleaned if t))


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerTag:
    id: int
    uuid: str
    name: str
    description: str

    @classmethod
    def from_row(cls, row: Row) -> WorkerTag:
        return cls(id=row["id"], uuid=row["uuid"], name=row["name"], description=row["description"])


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistEntry:
    worker_uuid: str
    worker_name: str
    task_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SleepSchedule:
    worker_id: int
    worker_uuid: str
    is_active: bool
    days_of_week: str
    start_time: str
    end_time: str
    next_check: dt.datetime | None

    @classmethod
    def from_row(cls, row: Row) -> SleepSchedule:
        return cls(
            worker_id=row["worker_id"],
            worker_uuid=row["worker_uuid"],
            is_active=bool(row["is_active"]),
            days_of_week=row["days_of_week"],
            start_time=row["start_time"],
            end_time=row["end_time"],
            next_check=optional_time(row["next_check"]),
        )
