"""Benchmark: the scheduler's query when many queued jobs wait for other jobs.

Run with `python benchmarks/bench_job_graph.py [--database postgresql://...]`
(an SQLite file by default; a PostgreSQL URL should name an empty schema).
It stores 100 jobs of 1,000 tasks and times the scheduler's query
(find_runnable_task) in three farms, printing p50/p99 and each farm's ratio
to the first, measured in the same run:

- none of the jobs has dependencies (the baseline);
- half the jobs wait for a paused job, at a lower priority than the others;
- half the jobs wait for a paused job, at a higher priority: the worst case,
  where the query would walk past every task of the waiting jobs were they in
  its index.

Jobs are stored with the persistence functions that submission uses, waiting
ones marked (tasks.job_waiting) as submission marks them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence import (
    Connection,
    job_dependencies,
    jobs,
    open_database,
    scheduler,
    workers,
)

JOBS = 100
TASKS_PER_JOB = 1000
CALLS = 300


def new_job(name: str, priority: int, status: JobStatus) -> jobs.NewJob:
    task_status = TaskStatus.PAUSED if status == JobStatus.PAUSED else TaskStatus.QUEUED
    return jobs.NewJob(
        uuid=str(uuid.uuid4()),
        name=name,
        job_type="simple-blender-render",
        priority=priority,
        status=status,
        task_status=task_status,
        created_at=dt.datetime.now(dt.UTC),
        settings={},
        metadata={},
        submitter_platform="linux",
        shaman_checkout_id="",
        worker_tag_id=None,
        tasks=[
            jobs.NewTask(
                uuid=str(uuid.uuid4()),
                name=f"render-{number}",
                task_type="blender",
                priority=50,
                commands=[{"name": "blender-render", "parameters": {}, "total_step_count": 1}],
                dependencies=[],
            )
            for number in range(TASKS_PER_JOB)
        ],
    )


async def farm(location: str | Path, waiting_priority: int | None) -> list[float]:
    """Store the jobs; None means no dependencies at all. Returns query durations."""
    db = await open_database(location, busy_timeout_ms=5000)
    try:

        def fill(conn: Connection) -> workers.Worker:
            blocker = jobs.insert_job(conn, new_job("blocker", 50, JobStatus.PAUSED))
            for number in range(JOBS):
                waits = waiting_priority is not None and number % 2 == 0
                priority = waiting_priority if waits and waiting_priority is not None else 50
                job_id = jobs.insert_job(conn, new_job(f"job-{number}", priority, JobStatus.QUEUED))
                if waits:
                    job_dependencies.insert_dependencies(conn, job_id, [blocker])
                    job_dependencies.set_job_waiting(conn, job_id, True)
            return workers.insert_worker(
                conn,
                uuid=str(uuid.uuid4()),
                secret_hash="",
                name="bench",
                address="",
                platform="linux",
                supported_task_types=["blender"],
                now=dt.datetime.now(dt.UTC),
            )

        worker = await db.write(fill)
        await db.write(jobs.refresh_task_statistics, one_statement=True)
        durations = []
        for _ in range(CALLS):
            started = time.perf_counter()
            found = await db.write(lambda conn: scheduler.find_runnable_task(conn, worker))
            durations.append(time.perf_counter() - started)
            assert found is not None
        return durations
    finally:
        await db.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run(database: str | None) -> None:
    scenarios = [
        ("no dependencies", None),
        ("half waiting, lower priority", 40),
        ("half waiting, higher priority (worst case)", 60),
    ]
    baseline = 0.0
    with tempfile.TemporaryDirectory() as directory:
        for index, (label, waiting_priority) in enumerate(scenarios):
            if database is None:
                location: str | Path = Path(directory) / f"farm-{index}.sqlite"
            else:
                location = database
                await reset_postgresql(database)
            durations = await farm(location, waiting_priority)
            p50 = statistics.median(durations) * 1000
            p99 = percentile(durations, 0.99) * 1000
            baseline = baseline or p50
            print(f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({p50 / baseline:.1f} x baseline)")


async def reset_postgresql(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS schema_migrations CASCADE")
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        conn.execute("DROP VIEW IF EXISTS job_view, task_view CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (an empty schema); default SQLite")
    asyncio.run(run(parser.parse_args().database))


if __name__ == "__main__":
    main()
