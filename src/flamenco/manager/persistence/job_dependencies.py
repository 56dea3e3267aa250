"""Job dependencies (the job_dependencies table) and the approval tasks of a job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence import errors
from flamenco.manager.persistence.connection import Connection, Row
from flamenco.manager.persistence.models import Task, to_db_time
from flamenco.manager.state_machine.job_graph_rules import JobRef


def _job_ref(row: Row) -> JobRef:
    return JobRef(
        id=row["id"],
        uuid=row["uuid"],
        name=row["name"],
        status=JobStatus(row["status"]),
        being_deleted=row["delete_requested_at"] is not None,
    )


def fetch_job_as_dependency(conn: Connection, uuid: str, *, lock: bool = True) -> JobRef:
    """A job that a new job is to depend on; on PostgreSQL it stays share-locked until commit.

    The lock makes a concurrent status change of that job wait until the new job is
    stored, so that it finds the new job among its dependents. Read-only
    transactions (checking a submission) ask for no lock.
    """
    query = "fetch_job_as_dependency" if lock else "fetch_job_ref"
    row = conn.execute(query, {"uuid": uuid}).fetchone()
    if row is None:
        raise errors.JobNotFound(f"job {uuid} not found")
    return _job_ref(row)


def insert_dependencies(conn: Connection, job_id: int, depends_on: Iterable[int]) -> None:
    conn.executemany(
        "insert_job_dependency",
        ({"job_id": job_id, "depends_on_job_id": other} for other in depends_on),
    )


def fetch_dependencies(conn: Connection, job_id: int) -> list[JobRef]:
    """The jobs this job depends on, oldest first."""
    return [_job_ref(row) for row in conn.execute("fetch_job_dependencies", {"job_id": job_id})]


def fetch_unfinished_dependencies(conn: Connection, job_id: int) -> list[JobRef]:
    """The dependencies that keep the job from being scheduled (not completed)."""
    return [job for job in fetch_dependencies(conn, job_id) if job.status != JobStatus.COMPLETED]


def fetch_dependents(conn: Connection, job_id: int) -> list[JobRef]:
    """The jobs that depend on this job directly, oldest first."""
    return [_job_ref(row) for row in conn.execute("fetch_job_dependents", {"job_id": job_id})]


def fetch_transitive_dependents(conn: Connection, job_id: int) -> list[JobRef]:
    """Every job that depends on this one, directly or through others."""
    rows = conn.execute("fetch_transitive_dependents", {"job_id": job_id})
    return [_job_ref(row) for row in rows]


def fetch_all_dependency_uuids(conn: Connection) -> dict[int, tuple[str, ...]]:
    """For listings: each job's ID to the UUIDs of the jobs it depends on."""
    edges: dict[int, list[str]] = {}
    for row in conn.execute("fetch_all_job_dependency_uuids"):
        edges.setdefault(row["job_id"], []).append(row["depends_on_uuid"])
    return {job_id: tuple(uuids) for job_id, uuids in edges.items()}


def lock_dependencies_of_job(conn: Connection, job_id: int) -> None:
    """Serialise decisions about this job's waiting (PostgreSQL); see the query."""
    conn.execute("lock_dependencies_of_job", {"job_id": job_id}).fetchall()


def set_job_waiting(conn: Connection, job_id: int, waiting: bool) -> None:
    """Keep the job's tasks out of the scheduler's index while it waits (tasks.job_waiting)."""
    conn.execute("set_job_waiting", {"job_id": job_id, "waiting": int(waiting)})


def reconcile_job_waiting(conn: Connection) -> int:
    """Make every task's job_waiting true to its job's dependencies; returns how many changed."""
    changed = conn.execute("reconcile_job_waiting", {}).rowcount
    return changed + conn.execute("clear_job_waiting_without_dependencies", {}).rowcount


def save_job_activity(conn: Connection, job_id: int, activity: str, now: dt.datetime) -> None:
    conn.execute("save_job_activity", {"id": job_id, "activity": activity, "now": to_db_time(now)})


@dataclass(frozen=True, slots=True)
class ApprovalTask:
    """An approval task, and how many of the tasks it depends on are unfinished."""

    task: Task
    unfinished_dependencies: int


def fetch_approval_tasks(conn: Connection, job_id: int) -> list[ApprovalTask]:
    """The job's tasks of type `approval`, in job order."""
    rows = conn.execute("fetch_approval_tasks_of_job", {"job_id": job_id})
    return [ApprovalTask(Task.from_row(row), int(row["unfinished_dependencies"])) for row in rows]


def fetch_task_status_for_update(conn: Connection, task_id: int) -> TaskStatus:
    """The task's status now; on PostgreSQL the task stays locked until commit."""
    row = conn.execute("fetch_task_status_for_update", {"id": task_id}).fetchone()
    if row is None:
        raise errors.TaskNotFound(f"task {task_id} not found")
    return TaskStatus(row["status"])
