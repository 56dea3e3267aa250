"""Finding the next task for a Worker, with all of upstream's scheduling rules."""

from __future__ import annotations

import dataclasses
import json

from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import TaskRef, Worker, from_db_time


def fetch_assigned_active_task(conn: Connection, worker: Worker) -> TaskRef | None:
    """A task the Worker is already running, so it gets that one again."""
    row = conn.execute("fetch_assigned_active_task", {"worker_id": worker.id}).fetchone()
    return None if row is None else TaskRef.from_row(row)


def find_runnable_task(conn: Connection, worker: Worker) -> TaskRef | None:
    """The first task the Worker may run, or None."""
    if not worker.supported_task_types:
        return None
    row = conn.execute(
        "find_runnable_task",
        {"worker_id": worker.id, "task_types": json.dumps(list(worker.supported_task_types))},
    ).fetchone()
    if row is None:
        return None
    return dataclasses.replace(TaskRef.from_row(row), updated_at=from_db_time(row["updated_at"]))
