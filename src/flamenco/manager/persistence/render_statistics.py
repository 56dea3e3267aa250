"""Storing and reading render statistics: task runs and rendered frames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flamenco.manager.persistence.connection import Connection, Row
from flamenco.manager.persistence.models import Task, optional_time, to_db_time

# Rows deleted per statement when pruning, so that no prune holds the database for long.
PRUNE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One time a task ran on a Worker: from the queue, to active, to its next status."""

    task_uuid: str
    task_name: str
    task_type: str
    job_uuid: str
    worker_uuid: str
    worker_name: str
    queued_at: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str | None

    @classmethod
    def from_row(cls, row: Row) -> TaskRun:
        return cls(
            task_uuid=row["task_uuid"],
            task_name=row["task_name"],
            task_type=row["task_type"],
            job_uuid=row["job_uuid"],
            worker_uuid=row["worker_uuid"],
            worker_name=row["worker_name"],
            queued_at=optional_time(row["queued_at"]),
            started_at=dt.datetime.fromisoformat(row["started_at"]),
            finished_at=optional_time(row["finished_at"]),
            status=row["status"],
        )


@dataclass(frozen=True, slots=True)
class FrameStatistic:
    """One frame that Blender reported as rendered and saved."""

    recorded_at: dt.datetime
    job_uuid: str
    task_uuid: str
    worker_uuid: str
    worker_name: str
    frame: int | None
    render_seconds: float
    saving_seconds: float | None
    peak_memory_bytes: int | None

    @classmethod
    def from_row(cls, row: Row) -> FrameStatistic:
        return cls(
            recorded_at=dt.datetime.fromisoformat(row["recorded_at"]),
            job_uuid=row["job_uuid"],
            task_uuid=row["task_uuid"],
            worker_uuid=row["worker_uuid"],
            worker_name=row["worker_name"],
            frame=row["frame"],
            render_seconds=float(row["render_seconds"]),
            saving_seconds=None if row["saving_seconds"] is None else float(row["saving_seconds"]),
            peak_memory_bytes=row["peak_memory_bytes"],
        )


def start_task_run(
    conn: Connection, task: Task, queued_at: dt.datetime | None, now: dt.datetime
) -> None:
    """Record that `task` (as it is now: active, with its Worker) started running."""
    worker = task.worker
    conn.execute(
        "start_task_run",
        {
            "task_id": task.id,
            "task_uuid": task.uuid,
            "task_name": task.name,
            "task_type": task.task_type,
            "job_uuid": task.job_uuid,
            "worker_uuid": worker.uuid if worker else "",
            "worker_name": worker.name if worker else "",
            "queued_at": None if queued_at is None else to_db_time(queued_at),
            "now": to_db_time(now),
        },
    )


def finish_task_run(conn: Connection, task_id: int, status: str, now: dt.datetime) -> None:
    conn.execute("finish_task_run", {"task_id": task_id, "status": status, "now": to_db_time(now)})


def close_abandoned_task_runs(conn: Connection, before: dt.datetime) -> int:
    return conn.execute("close_abandoned_task_runs", {"before": to_db_time(before)}).rowcount


@dataclass(frozen=True, slots=True)
class NewFrame:
    """A rendered frame as the Manager read it from a task's log, waiting to be stored."""

    recorded_at: dt.datetime
    job_uuid: str
    task_uuid: str
    worker_uuid: str
    frame: int | None
    render_seconds: float
    saving_seconds: float | None
    peak_memory_bytes: int | None


def save_frames(conn: Connection, frames: Iterable[NewFrame]) -> None:
    conn.executemany(
        "save_rendered_frame",
        [
            {
                "recorded_at": to_db_time(frame.recorded_at),
                "job_uuid": frame.job_uuid,
                "task_uuid": frame.task_uuid,
                "worker_uuid": frame.worker_uuid,
                "frame": frame.frame,
                "render_seconds": frame.render_seconds,
                "saving_seconds": frame.saving_seconds,
                "peak_memory_bytes": frame.peak_memory_bytes,
            }
            for frame in frames
        ],
    )


def fetch_job_frames(conn: Connection, job_uuid: str) -> list[FrameStatistic]:
    rows = conn.execute("fetch_job_frames", {"job_uuid": job_uuid})
    return [FrameStatistic.from_row(row) for row in rows]


def fetch_job_task_runs(conn: Connection, job_uuid: str) -> list[TaskRun]:
    rows = conn.execute("fetch_job_task_runs", {"job_uuid": job_uuid})
    return [TaskRun.from_row(row) for row in rows]


def fetch_task_runs_between(
    conn: Connection, since: dt.datetime, until: dt.datetime, worker_uuid: str | None = None
) -> list[TaskRun]:
    rows = conn.execute(
        "fetch_task_runs_between",
        {"since": to_db_time(since), "until": to_db_time(until), "worker_uuid": worker_uuid},
    )
    return [TaskRun.from_row(row) for row in rows]


def prune_batch(conn: Connection, before: dt.datetime) -> int:
    """Delete up to PRUNE_BATCH of each kind of statistic older than `before`; how many went."""
    params = {"before": to_db_time(before), "limit": PRUNE_BATCH}
    frames = conn.execute("prune_frame_statistics", params).rowcount
    runs = conn.execute("prune_task_runs", params).rowcount
    return frames + runs
