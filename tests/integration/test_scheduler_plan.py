"""PostgreSQL knows the jobs and tasks of a new farm as soon as its first big job is stored."""

from __future__ import annotations

from typing import Any

import pytest

from flamenco.manager import keys
from flamenco.manager.persistence import Connection
from flamenco.manager.persistence.jobs import TASKS_NEEDING_FRESH_STATISTICS
from support.jobs import blender_render_job
from support.manager import RunningManager
from support.waiting import until


def _tables_with_statistics(conn: Connection) -> set[str]:
    raw: Any = conn.raw  # type: ignore[attr-defined]
    rows = raw.execute(
        "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
    )
    return {row[0] for row in rows}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_big_job_brings_the_statistics_the_scheduler_is_planned_from(
    manager: RunningManager,
) -> None:
    """Until autovacuum first analyzes the new tables, PostgreSQL plans from guesses.

    For the scheduler's query it guessed one runnable job, and then gathered and sorted
    every queued task on every scheduleTask (400 ms with 100,000 queued, in
    bench_cpu_per_request) instead of walking the tasks_schedulable index.
    """
    frames = f"1-{TASKS_NEEDING_FRESH_STATISTICS}"
    job = blender_render_job(frames=frames, chunk_size=1)
    await manager.client.post("/api/v3/jobs", json_body=job, expect=200)

    # Refreshed just after the answer, so as not to hold up the submission.
    async def analyzed() -> bool:
        tables = await manager.app[keys.DATABASE].read(_tables_with_statistics)
        return {"jobs", "tasks", "task_dependencies"} <= tables

    await until(analyzed, timeout=30)
