"""Capacity bookkeeping for scheduling: jobs' max_workers and the named resource limits."""

from __future__ import annotations

import json
from collections.abc import Iterable

from flamenco.manager.persistence.connection import Connection, Dialect


def fetch_capped_runnable_jobs(conn: Connection) -> list[tuple[int, int, int]]:
    """(job ID, max_workers, active tasks) of each runnable job that has a max_workers."""
    rows = conn.execute("fetch_capped_runnable_jobs")
    return [(int(row[0]), int(row[1]), int(row[2])) for row in rows]


def count_active_tasks_of_job(conn: Connection, job_id: int) -> int:
    return int(conn.execute("count_active_tasks_of_job", {"job_id": job_id}).fetchone()[0])


def fetch_usage(conn: Connection) -> dict[str, int]:
    """Units of each named limit that active tasks hold (limits nobody holds are absent)."""
    return {str(row[0]): int(row[1]) for row in conn.execute("fetch_resource_limit_usage")}


def fetch_task_type_limits(conn: Connection, job_id: int, task_type: str) -> list[str]:
    rows = conn.execute(
        "fetch_task_type_resource_limits", {"job_id": job_id, "task_type": task_type}
    )
    return [str(row[0]) for row in rows]


def fetch_job_limits(conn: Connection, job_id: int) -> dict[str, frozenset[str]]:
    """Task type -> the limits the job's tasks of that type take."""
    found: dict[str, set[str]] = {}
    for row in conn.execute("fetch_job_resource_limits", {"job_id": job_id}):
        found.setdefault(str(row[0]), set()).add(str(row[1]))
    return {task_type: frozenset(names) for task_type, names in found.items()}


def fetch_limited_runnable_jobs(
    conn: Connection, limits: Iterable[str]
) -> dict[int, dict[str, frozenset[str]]]:
    """Runnable jobs that take one of `limits`: task type -> its limits ('' for none)."""
    found: dict[int, dict[str, set[str]]] = {}
    rows = conn.execute("fetch_limited_runnable_jobs", {"limits": json.dumps(sorted(limits))})
    for row in rows:
        found.setdefault(int(row[0]), {}).setdefault(str(row[1]), set()).add(str(row[2]))
    return {
        job_id: {task_type: frozenset(names) for task_type, names in types.items()}
        for job_id, types in found.items()
    }


def lock_limits(conn: Connection, names: Iterable[str]) -> None:
    """Count these limits' use with nobody else starting a task that takes them.

    PostgreSQL only: SQLite's one writer runs transactions one at a time anyway.
    """
    if conn.dialect is not Dialect.POSTGRESQL:
        return
    for name in sorted(set(names)):
        conn.execute("lock_resource_limit", {"name": name})
