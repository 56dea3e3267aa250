"""Workers and worker tags: registration, sign-on state, status requests and tag membership."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flamenco.api.enums import WorkerStatus
from flamenco.manager.persistence import errors
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import (
    Task,
    Worker,
    WorkerTag,
    join_task_types,
    to_db_time,
)
from flamenco.manager.persistence.queries import fetch_one


def insert_worker(
    conn: Connection,
    *,
    uuid: str,
    secret_hash: str,
    name: str,
    address: str,
    platform: str,
    supported_task_types: Iterable[str],
    now: dt.datetime,
) -> Worker:
    cursor = conn.execute(
        "insert_worker",
        {
            "now": to_db_time(now),
            "uuid": uuid,
            "secret": secret_hash,
            "name": name,
            "address": address,
            "platform": platform,
            "status": WorkerStatus.OFFLINE,
            "supported_task_types": join_task_types(list(supported_task_types)),
        },
    )
    return fetch_worker_by_id(conn, int(cursor.fetchone()[0]))


def fetch_worker(conn: Connection, uuid: str) -> Worker:
    """Fetch a Worker that has not been deleted."""
    return fetch_one(
        conn,
        "fetch_worker",
        {"uuid": uuid},
        Worker.from_row,
        errors.WorkerNotFound(f"worker {uuid} not found"),
    )


def fetch_worker_marking_seen(conn: Connection, uuid: str, now: dt.datetime) -> Worker:
    """mark_seen() and fetch_worker() in one statement, which locks the Worker first.

    A transaction that reads the Worker and then marks it seen could act on a status
    that another transaction changed in between (on PostgreSQL, where they both run).
    """
    return fetch_one(
        conn,
        "mark_worker_seen_returning",
        {"uuid": uuid, "now": to_db_time(now)},
        Worker.from_row,
        errors.WorkerNotFound(f"worker {uuid} not found"),
    )


def fetch_worker_id(conn: Connection, uuid: str) -> int:
    """The database ID of a Worker that has not been deleted."""
    return fetch_one(
        conn,
        "fetch_worker_id",
        {"uuid": uuid},
        lambda row: int(row[0]),
        errors.WorkerNotFound(f"worker {uuid} not found"),
    )


def fetch_worker_by_id(conn: Connection, worker_id: int) -> Worker:
    return fetch_one(
        conn,
        "fetch_worker_by_id",
        {"id": worker_id},
        Worker.from_row,
        errors.WorkerNotFound(f"worker {worker_id} not found"),
    )


def fetch_workers(conn: Connection) -> list[Worker]:
    return [Worker.from_row(row) for row in conn.execute("fetch_workers")]


def save_sign_on(
    conn: Connection,
    worker_id: int,
    *,
    name: str,
    address: str,
    software: str,
    supported_task_types: Iterable[str],
    can_restart: bool,
    status: WorkerStatus,
    now: dt.datetime,
) -> None:
    conn.execute(
        "save_worker_sign_on",
        {
            "id": worker_id,
            "name": name,
            "address": address,
            "software": software,
            "supported_task_types": join_task_types(list(supported_task_types)),
            "can_restart": int(can_restart),
            "status": status,
            "now": to_db_time(now),
        },
    )


def save_status(conn: Connection, worker_id: int, status: WorkerStatus, now: dt.datetime) -> None:
    conn.execute("save_worker_status", {"id": worker_id, "status": status, "now": to_db_time(now)})


def save_status_request(
    conn: Connection,
    worker_id: int,
    status: WorkerStatus | None,
    is_lazy: bool,
    now: dt.datetime,
) -> None:
    conn.execute(
        "save_worker_status_request",
        {
            "id": worker_id,
            "status_requested": status or "",
            "lazy": int(is_lazy and status is not None),
            "now": to_db_time(now),
        },
    )


def mark_seen(conn: Connection, worker_id: int, now: dt.datetime) -> None:
    conn.execute("mark_worker_seen", {"id": worker_id, "now": to_db_time(now)})


def soft_delete(conn: Connection, worker_id: int, now: dt.datetime) -> None:
    conn.execute("soft_delete_worker", {"id": worker_id, "now": to_db_time(now)})


def fetch_workers_unseen_since(conn: Connection, before: dt.datetime) -> list[Worker]:
    rows = conn.execute("fetch_workers_timed_out", {"before": to_db_time(before)})
    return [Worker.from_row(row) for row in rows]


def save_status_if_unseen_since(
    conn: Connection, worker_id: int, status: WorkerStatus, before: dt.datetime, now: dt.datetime
) -> bool:
    """save_status() if the Worker is still unseen since `before` and may time out.

    Locks the Worker first: whether it holds is decided after any request that came first.
    """
    params = {
        "id": worker_id,
        "status": status,
        "before": to_db_time(before),
        "now": to_db_time(now),
    }
    return conn.execute("save_status_of_worker_timed_out", params).rowcount == 1


def fetch_last_task(conn: Connection, worker_id: int) -> Task | None:
    row = conn.execute("fetch_last_task_of_worker", {"worker_id": worker_id}).fetchone()
    return None if row is None else Task.from_row(row)


def count_workers_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute("fetch_worker_status_counts")
    return {row["status"]: row["num_workers"] for row in rows}


def count_jobs_by_status(conn: Connection) -> dict[str, int]:
    return {row["status"]: row["num_jobs"] for row in conn.execute("fetch_job_status_counts")}


# Worker tags.


def insert_tag(
    conn: Connection, *, uuid: str, name: str, description: str, now: dt.datetime
) -> WorkerTag:
    conn.execute(
        "insert_worker_tag",
        {"uuid": uuid, "name": name, "description": description, "now": to_db_time(now)},
    )
    return fetch_tag(conn, uuid)


def fetch_tag(conn: Connection, uuid: str) -> WorkerTag:
    return fetch_one(
        conn,
        "fetch_worker_tag",
        {"uuid": uuid},
        WorkerTag.from_row,
        errors.WorkerTagNotFound(f"worker tag {uuid} not found"),
    )


def fetch_tag_by_name(conn: Connection, name: str) -> WorkerTag:
    return fetch_one(
        conn,
        "fetch_worker_tag_by_name",
        {"name": name},
        WorkerTag.from_row,
        errors.WorkerTagNotFound(f"worker tag named {name!r} not found"),
    )


def fetch_tags(conn: Connection) -> list[WorkerTag]:
    return [WorkerTag.from_row(row) for row in conn.execute("fetch_worker_tags")]


def save_tag(
    conn: Connection, tag_id: int, *, name: str, description: str, now: dt.datetime
) -> None:
    conn.execute(
        "save_worker_tag",
        {"id": tag_id, "name": name, "description": description, "now": to_db_time(now)},
    )


def delete_tag(conn: Connection, tag_id: int) -> None:
    conn.execute("delete_worker_tag", {"id": tag_id})


def fetch_tags_of_worker(conn: Connection, worker_id: int) -> list[WorkerTag]:
    rows = conn.execute("fetch_tags_of_worker", {"worker_id": worker_id})
    return [WorkerTag.from_row(row) for row in rows]


def set_tags_of_worker(conn: Connection, worker_id: int, tag_uuids: Iterable[str]) -> None:
    """Replace the Worker's tag memberships; unknown tag UUIDs are ignored, as upstream does."""
    conn.execute("clear_worker_tag_memberships", {"worker_id": worker_id})
    conn.executemany(
        "add_worker_tag_membership",
        ({"worker_id": worker_id, "tag_uuid": uuid} for uuid in tag_uuids),
    )
