"""Finding the next task for a Worker: upstream's scheduling rules, and capacity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass

from flamenco.api.enums import TaskStatus
from flamenco.manager.persistence import errors, workers
from flamenco.manager.persistence.connection import Connection, Dialect
from flamenco.manager.persistence.models import (
    TaskRef,
    Worker,
    from_db_time,
    optional_time,
    status_since,
    to_db_time,
)

# Job priorities are 32-bit integers (job_compilers/validation.py).
HIGHEST_PRIORITY = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A task the Worker may run, with what checking its job's capacity needs."""

    task: TaskRef
    max_workers: int | None


@dataclass(frozen=True, slots=True)
class SchedulingStart:
    """What handing a Worker a task starts from."""

    worker: Worker
    # The task the Worker already runs, which it gets again.
    assigned: TaskRef | None
    # (job ID, max_workers, active tasks) of each runnable job that has a max_workers;
    # None when not fetched yet (see pick_task).
    capped_jobs: list[tuple[int, int, int]] | None


def start_scheduling(conn: Connection, worker_uuid: str, now: dt.datetime) -> SchedulingStart:
    """The Worker marked seen, its active task and, on PostgreSQL, the capped jobs.

    The same as workers.fetch_worker_marking_seen(), fetch_assigned_active_task() and
    resource_limits.fetch_capped_runnable_jobs(); on PostgreSQL in one statement, a
    round trip instead of three. SQLite leaves the capped jobs to when they are needed.
    Raises WorkerNotFound.
    """
    if conn.dialect is not Dialect.POSTGRESQL:
        worker = workers.fetch_worker_marking_seen(conn, worker_uuid, now)
        return SchedulingStart(worker, fetch_assigned_active_task(conn, worker), None)
    row = conn.execute("start_scheduling", {"uuid": worker_uuid, "now": to_db_time(now)}).fetchone()
    if row is None:
        raise errors.WorkerNotFound(f"worker {worker_uuid} not found")
    assigned = None
    if row["assigned_id"] is not None:
        assigned = TaskRef.from_row(row, prefix="assigned_")
    capped = [(int(job[0]), int(job[1]), int(job[2])) for job in row["capped_jobs"] or ()]
    return SchedulingStart(Worker.from_row(row), assigned, capped)


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
            TaskStatus(row["status"]),
            optional_time(row["status_changed_at"]),
            from_db_time(row["created_at"]),
        ),
    )
    return Candidate(task, row["max_workers"])


def fetch_priority_ceiling(conn: Connection, held_back_jobs: Collection[int]) -> int | None:
    """The highest priority of a runnable job not held back; None when there is none."""
    row = conn.execute(
        "fetch_priority_ceiling", {"jobs": json.dumps(sorted(held_back_jobs))}
    ).fetchone()
    return None if row is None else int(row[0])
