"""Which job rendered the farm's newest frame."""

from __future__ import annotations

import datetime as dt

from flamenco.manager.persistence import jobs
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import to_db_time


def save_job(conn: Connection, job_uuid: str, now: dt.datetime) -> None:
    """Remember `job_uuid` as the job of the farm's newest rendered frame."""
    job = jobs.fetch_job(conn, job_uuid)
    conn.execute("save_last_rendered_job", {"job_id": job.id, "now": to_db_time(now)})


def fetch_job_uuid(conn: Connection) -> str | None:
    """The job of the farm's newest rendered frame; None before the first one."""
    row = conn.execute("fetch_last_rendered_job").fetchone()
    return None if row is None else str(row[0])
