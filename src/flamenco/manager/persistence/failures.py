"""Per-task failure lists and per-job Worker blocklists."""

from __future__ import annotations

import datetime as dt

from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import BlocklistEntry, TaskWorkerRef, to_db_time


def add_task_failure(conn: Connection, task_id: int, worker_id: int, now: dt.datetime) -> int:
    """Record that the Worker failed the task; return how many Workers have failed it."""
    conn.execute(
        "add_task_failure",
        {"task_id": task_id, "worker_id": worker_id, "now": to_db_time(now)},
    )
    return int(conn.execute("count_task_failers", {"task_id": task_id}).fetchone()[0])


def fetch_task_failers(conn: Connection, task_id: int) -> list[TaskWorkerRef]:
    rows = conn.execute("fetch_task_failers", {"task_id": task_id})
    return [
        TaskWorkerRef(id=0, uuid=row["uuid"], name=row["name"], address=row["address"])
        for row in rows
    ]


def clear_task_failures(conn: Connection, task_id: int) -> None:
    conn.execute("clear_task_failures", {"task_id": task_id})


def clear_job_task_failures(conn: Connection, job_id: int) -> None:
    conn.execute("clear_job_task_failures", {"job_id": job_id})


def count_task_failures_of_worker(
    conn: Connection, job_id: int, worker_id: int, task_type: str
) -> int:
    row = conn.execute(
        "count_task_failures_of_worker",
        {"job_id": job_id, "worker_id": worker_id, "task_type": task_type},
    ).fetchone()
    return int(row[0])


def add_job_block(
    conn: Connection, job_id: int, worker_id: int, task_type: str, now: dt.datetime
) -> None:
    conn.execute(
        "add_job_block",
        {"job_id": job_id, "worker_id": worker_id, "task_type": task_type, "now": to_db_time(now)},
    )


def fetch_job_blocklist(conn: Connection, job_id: int) -> list[BlocklistEntry]:
    rows = conn.execute("fetch_job_blocklist", {"job_id": job_id})
    return [
        BlocklistEntry(
            worker_uuid=row["worker_uuid"],
            worker_name=row["worker_name"],
            task_type=row["task_type"],
        )
        for row in rows
    ]


def remove_job_block(conn: Connection, job_id: int, worker_uuid: str, task_type: str) -> None:
    conn.execute(
        "remove_job_block",
        {"job_id": job_id, "worker_uuid": worker_uuid, "task_type": task_type},
    )


def clear_job_blocklist(conn: Connection, job_id: int) -> None:
    conn.execute("clear_job_blocklist", {"job_id": job_id})


def workers_able_to_run(conn: Connection, job_id: int, task_type: str) -> set[str]:
    """UUIDs of the Workers that could still run tasks of this type in this job."""
    rows = conn.execute("fetch_workers_able_to_run", {"job_id": job_id, "task_type": task_type})
    return {row[0] for row in rows}
