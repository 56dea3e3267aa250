"""Near a big job's end, an idle Worker's ask reads few of the video task's dependencies."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from flamenco.api.enums import TaskStatus
from flamenco.manager.persistence import Connection, Database, jobs, scheduler
from flamenco.manager.persistence.connection import SQLiteConnection
from support.factories import T0, add_awake_worker, new_job, new_task


def steps_to_look_for_work_near_the_end(conn: Connection, frames: int) -> int:
    """SQLite's virtual-machine steps to find no work for a video-only Worker, while the
    video task waits for the last of `frames` frames: a measure of rows read that, unlike
    a duration, does not depend on the machine."""
    renders = [new_task(f"frame {number}", task_type="blender") for number in range(frames)]
    video = new_task("video", task_type="ffmpeg", dependencies=[t.uuid for t in renders])
    jobs.insert_job(conn, new_job([*renders, video]))
    for render in renders:
        stored = jobs.fetch_task(conn, render.uuid)
        last = render is renders[-1]
        jobs.save_task_status(conn, stored, TaskStatus.ACTIVE if last else TaskStatus.COMPLETED, T0)
    registered = add_awake_worker(conn, f"video maker {frames}")
    worker = dataclasses.replace(registered, supported_task_types=("ffmpeg",))

    assert isinstance(conn, SQLiteConnection)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw: sqlite3.Connection = conn.raw
    raw.set_progress_handler(count, 1)
    try:
        assert scheduler.find_runnable_task(conn, worker) is None
    finally:
        raw.set_progress_handler(None, 1)
    return steps


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_looking_for_work_costs_no_more_with_ten_times_the_frames(db: Database) -> None:
    # Walked from the oldest dependency, the check read every finished frame: ten
    # times the frames cost about ten times the steps, and every idle Worker's ask
    # near the end of a 6,000-frame job kept the one writer busy for 2.5 ms.
    few = await db.write(lambda conn: steps_to_look_for_work_near_the_end(conn, 200))
    many = await db.write(lambda conn: steps_to_look_for_work_near_the_end(conn, 2_000))
    assert many < 2 * few, (few, many)
