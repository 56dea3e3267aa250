"""Which PostgreSQL driver for the Manager: psycopg 3 or asyncpg, on our own queries.

Run with `python benchmarks/bench_pg_drivers.py [--url URL] [--seconds S]` (asyncpg
is not a dependency of the Manager: `pip install asyncpg` first). It needs a
PostgreSQL server (default: the local one, database `test`) and works in a
schema of its own, dropped afterwards.

Both drivers run the same named queries from persistence/queries, on the same
data, with 32 concurrent callers in one process, for the two transactions a
busy farm runs most:
- a Worker's progress report: one statement that finds the Worker and task, marks
  the Worker seen and saves the task's activity (what TaskUpdates runs for a report
  without a status, record_progress);
- handing out a task: find the first runnable task with FOR UPDATE SKIP LOCKED
  and assign it (what TaskScheduler does).
psycopg runs each whole transaction in one thread hop, the way the Manager runs
its SQLite transactions (the services run unchanged); asyncpg awaits each
statement on the event loop. Figures: transactions per second, and the
process's CPU time per transaction, which is what limits a Manager process.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from flamenco.manager.persistence import jobs, scheduler, workers
from flamenco.manager.persistence.connection import Connection, Dialect
from flamenco.manager.persistence.models import to_db_time
from flamenco.manager.persistence.postgresql import PostgresDatabase
from flamenco.manager.persistence.postgresql_migrate import migrate_blocking
from flamenco.manager.persistence.queries import load_queries

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.postgresql import fresh_schema

CALLERS = 32
WORKERS = 200
TASKS = 50_000


def positional(sql: str) -> tuple[str, list[str]]:
    """psycopg's %(name)s parameters as asyncpg's $1, $2, ..., with their order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql).replace("%%", "%"), names


class AsyncpgQueries:
    """Our named queries, for asyncpg."""

    def __init__(self) -> None:
        self._queries = {
            name: positional(sql) for name, sql in load_queries(Dialect.POSTGRESQL).items()
        }

    def args(self, name: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, names = self._queries[name]
        return sql, [params[key] for key in names]


def populate(url: str) -> tuple[list[str], list[str]]:
    """A job with TASKS queued tasks and WORKERS awake Workers; half the tasks assigned."""
    now = to_db_time(dt.datetime.now(dt.UTC))
    worker_uuids = [str(uuid.uuid4()) for _ in range(WORKERS)]
    with psycopg.connect(url, autocommit=True) as conn:
        migrate_blocking(conn)
        for worker_uuid in worker_uuids:
            conn.execute(
                "INSERT INTO workers (created_at, uuid, secret, name, status, supported_task_types)"
                " VALUES (%s, %s, 'x', 'bench', 'awake', 'misc,blender')",
                (now, worker_uuid),
            )
        job_id = conn.execute(
            "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status)"
            " VALUES (%s, %s, %s, 'bench', 'echo', 50, 'active') RETURNING id",
            (now, now, str(uuid.uuid4())),
        ).fetchone()[0]  # type: ignore[index]
        task_uuids = [str(uuid.uuid4()) for _ in range(TASKS)]
        with conn.cursor().copy(
            "COPY tasks (created_at, updated_at, uuid, name, type, job_id, job_priority,"
            " index_in_job, status, worker_id) FROM STDIN"
        ) as copy:
            for index, task_uuid in enumerate(task_uuids, start=1):
                assigned = index % 2 == 0
                copy.write_row(
                    (now, now, task_uuid, f"t{index}", "misc", job_id, 50, index,
                     "active" if assigned else "queued",
                     None if not assigned else index % WORKERS + 1)
                )  # fmt: skip
        conn.execute("ANALYZE")
    return worker_uuids, task_uuids[1::2]


def report_with_psycopg(
    worker_uuid: str, task_uuid: str, now: dt.datetime
) -> Callable[[Connection], None]:
    def transaction(conn: Connection) -> None:
        jobs.record_progress(conn, task_uuid, worker_uuid, "rendering", now, progressed=True)

    return transaction


def schedule_with_psycopg(worker_uuid: str, now: dt.datetime) -> Callable[[Connection], None]:
    def transaction(conn: Connection) -> None:
        worker = workers.fetch_worker_by_id(conn, workers.fetch_worker_id(conn, worker_uuid))
        task = scheduler.find_runnable_task(conn, worker)
        if task is not None:
            jobs.assign_task(conn, task.id, worker.id, now)

    return transaction


async def run_for(seconds: float, action: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """Transactions per second and CPU milliseconds per transaction, with CALLERS at once."""
    done = 0
    deadline = time.monotonic() + seconds

    async def caller(number: int) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await action(number + done)
            done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(CALLERS)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return done / wall, 1000 * cpu / done


async def bench_psycopg(
    url: str, worker_uuids: list[str], task_uuids: list[str], seconds: float
) -> dict[str, tuple[float, float]]:
    db = await PostgresDatabase.open(url)
    now = dt.datetime.now(dt.UTC)
    try:

        async def report(n: int) -> None:
            # As the Manager sends a progress report: one statement, no transaction.
            worker_uuid, task_uuid = worker_uuids[n % WORKERS], task_uuids[n % len(task_uuids)]
            await db.write(report_with_psycopg(worker_uuid, task_uuid, now), one_statement=True)

        async def schedule(n: int) -> None:
            await db.write(schedule_with_psycopg(worker_uuids[n % WORKERS], now), urgent=n % 2 == 0)

        return {
            "report": await run_for(seconds, report),
            "schedule": await run_for(seconds, schedule),
        }
    finally:
        await db.close()


async def bench_asyncpg(
    url: str, worker_uuids: list[str], task_uuids: list[str], seconds: float
) -> dict[str, tuple[float, float]]:
    import asyncpg  # type: ignore[import-not-found]

    queries = AsyncpgQueries()
    dsn, _, options = url.partition("?options=-csearch_path%3D")
    pool = await asyncpg.create_pool(
        dsn, min_size=10, max_size=10, server_settings={"search_path": options}
    )
    now = to_db_time(dt.datetime.now(dt.UTC))
    try:

        async def report(n: int) -> None:
            params = {
                "uuid": task_uuids[n % len(task_uuids)],
                "worker_uuid": worker_uuids[n % WORKERS],
                "activity": "rendering",
                "now": now,
                "progressed": True,
            }
            async with pool.acquire() as conn:
                await conn.fetchrow(*_flat(queries.args("record_progress", params)))

        async def schedule(n: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                worker_id = await conn.fetchval(
                    *_flat(queries.args("fetch_worker_id", {"uuid": worker_uuids[n % WORKERS]}))
                )
                await conn.fetchrow(*_flat(queries.args("fetch_worker_by_id", {"id": worker_id})))
                task_id = await conn.fetchval(
                    *_flat(
                        queries.args(
                            "find_runnable_task",
                            {
                                "worker_id": worker_id,
                                "task_types": '["misc", "blender"]',
                                "full_jobs": "[]",
                                "exhausted_limits": "[]",
                                "priority_ceiling": 2**31 - 1,
                            },
                        )
                    )
                )
                if task_id is not None:
                    await conn.execute(
                        *_flat(
                            queries.args(
                                "assign_task", {"id": task_id, "worker_id": worker_id, "now": now}
                            )
                        )
                    )

        return {
            "report": await run_for(seconds, report),
            "schedule": await run_for(seconds, schedule),
        }
    finally:
        await pool.close()


def _flat(query: tuple[str, list[Any]]) -> list[Any]:
    sql, args = query
    return [sql, *args]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="PostgreSQL server (default: the test server)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each run lasts")
    args = parser.parse_args()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for driver, bench in (("psycopg", bench_psycopg), ("asyncpg", bench_asyncpg)):
        with fresh_schema(args.url) as url:
            worker_uuids, task_uuids = await asyncio.to_thread(populate, url)
            results[driver] = await bench(url, worker_uuids, task_uuids, args.seconds)
    print(f"{CALLERS} callers in one process, {WORKERS} Workers, {TASKS} tasks")
    for kind in ("report", "schedule"):
        base_rate, base_cpu = results["psycopg"][kind]
        for driver in ("psycopg", "asyncpg"):
            rate, cpu = results[driver][kind]
            print(
                f"  {kind:8} {driver:8} {rate:7.0f}/s ({rate / base_rate:4.2f}x psycopg)"
                f"  CPU {cpu:5.3f} ms per transaction ({cpu / base_cpu:4.2f}x psycopg)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
