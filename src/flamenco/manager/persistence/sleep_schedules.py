"""Worker sleep schedules: storing them and finding the ones due for a check."""

from __future__ import annotations

import datetime as dt

from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import SleepSchedule, to_db_time


def fetch(conn: Connection, worker_id: int) -> SleepSchedule | None:
    row = conn.execute("fetch_sleep_schedule", {"worker_id": worker_id}).fetchone()
    return None if row is None else SleepSchedule.from_row(row)


def save(
    conn: Connection,
    worker_id: int,
    *,
    is_active: bool,
    days_of_week: str,
    start_time: str,
    end_time: str,
    next_check: dt.datetime | None,
    now: dt.datetime,
) -> None:
    conn.execute(
        "save_sleep_schedule",
        {
            "worker_id": worker_id,
            "is_active": int(is_active),
            "days_of_week": days_of_week,
            "start_time": start_time,
            "end_time": end_time,
            "next_check": None if next_check is None else to_db_time(next_check),
            "now": to_db_time(now),
        },
    )


def save_next_check(conn: Connection, worker_id: int, next_check: dt.datetime) -> None:
    conn.execute(
        "save_sleep_schedule_next_check",
        {"worker_id": worker_id, "next_check": to_db_time(next_check)},
    )


def fetch_due(conn: Connection, now: dt.datetime) -> list[SleepSchedule]:
    rows = conn.execute("fetch_sleep_schedules_to_check", {"now": to_db_time(now)})
    return [SleepSchedule.from_row(row) for row in rows]
