"""Finding the next task for a Worker: upstream's scheduling rules, and capacity."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from dataclasses import dataclass

from flamenco.api.enums import TaskStatus
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import TaskRef, Worker, from_db_time, status_since

# Job priorities are 32-bit integers (job_compilers/validation.py).
HIGHEST_PRIORITY = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A task the Worker may run, with what checking its job's capacity needs."""

    task: TaskRef
    max_workers: int | None


def fetch_assigned_active_task(conn: Connection, worker: Worker) -> TaskRef | None:
    """A task the Worker is already running, so it gets that one again."""
    row = conn.execute("fetch_assigned_active_task", {"worker_id": worker.id}).fetchone()
    return None if row is None else TaskRef.from_row(row)


def find_runnable_task(conn: Connection, worker: Worker) -> TaskRef | None:
    """The first task the Worker may run, or None, leaving capacity aside."""
    found = find_candidate(conn, worker)
    return None if found is None else found.task


def find_candidate(
    conn: Connection,
    worker: Worker,
    *,
    full_jobs: Collection[int] = (),
    exhausted_limits: Collection[str] = (),
    priority_ceiling: int = HIGHEST_PRIORITY,
) -> Candidate | None:
    """The first task the Worker may run, or None.

    Leaves out the tasks of `full_jobs` (at their max_workers), tasks that take
    one of `exhausted_limits`, and jobs of a priority above `priority_ceiling`.
    """
    if not worker.supported_task_types:
        return None
    row = conn.execute(
        "find_runnable_task",
        {
            "worker_id": worker.id,
            "task_types": json.dumps(list(worker.supported_task_types)),
            "full_jobs": json.dumps(sorted(full_jobs)),
            "exhausted_limits": json.dumps(sorted(exhausted_limits)),
            "priority_ceiling": priority_ceiling,
        },
    ).fetchone()
    if row is None:
        return None
    task = dataclasses.replace(
        TaskRef.from_row(row),
        updated_at=from_db_time(row["updated_at"]),
        status_since=status_since(
            TaskStatus(row["status"]), row["status_changed_at"], row["created_at"]
        ),
    )
    return Candidate(task, row["max_workers"])


def fetch_priority_ceiling(conn: Connection, held_back_jobs: Collection[int]) -> int | None:
    """The highest priority of a runnable job not held back; None when there is none."""
    row = conn.execute(
        "fetch_priority_ceiling", {"jobs": json.dumps(sorted(held_back_jobs))}
    ).fetchone()
    return None if row is None else int(row[0])
