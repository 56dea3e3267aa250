"""Factories for database records in tests: plain values with keyword overrides."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.persistence import Connection, workers
from flamenco.manager.persistence.jobs import NewJob, NewTask
from flamenco.manager.persistence.models import Worker

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def new_task(name: str = "task", **overrides: Any) -> NewTask:
    values: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "task_type": "misc",
        "priority": 50,
        "commands": [{"name": "echo", "parameters": {"message": name}, "total_step_count": 0}],
        "dependencies": [],
    }
    values.update(overrides)
    return NewTask(**values)


def new_job(tasks: list[NewTask] | None = None, **overrides: Any) -> NewJob:
    values: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "name": "test job",
        "job_type": "echo-sleep-test",
        "priority": 50,
        "status": JobStatus.QUEUED,
        "task_status": TaskStatus.QUEUED,
        "created_at": T0,
        "settings": {},
        "metadata": {},
        "submitter_platform": "linux",
        "shaman_checkout_id": "",
        "worker_tag_id": None,
        "tasks": tasks if tasks is not None else [new_task("one"), new_task("two")],
    }
    values.update(overrides)
    return NewJob(**values)


def add_awake_worker(conn: Connection, name: str = "worker", address: str = "127.0.0.1") -> Worker:
    """A Worker registered for the "misc" task type, and awake."""
    worker = workers.insert_worker(
        conn,
        uuid=str(uuid.uuid4()),
        secret_hash="x",
        name=name,
        address=address,
        platform="linux",
        supported_task_types=("misc",),
        now=T0,
    )
    workers.save_status(conn, worker.id, WorkerStatus.AWAKE, T0)
    return worker
