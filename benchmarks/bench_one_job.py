"""Benchmark of one job's pace: how fast a farm's Workers get through one job of short tasks.

Run with `python benchmarks/bench_one_job.py` (PostgreSQL and Redis must run;
defaults: the local ones). Every status change of a job's tasks waits for that
job's lock: on PostgreSQL its row, shared by every Manager process; on SQLite
the one writer. So one job's tasks start and finish one at a time, however
many processes serve the farm. This measures that pace: a Manager on SQLite,
then farms of 1 and 3 processes on PostgreSQL (`--processes`), each with
`--workers` simulated Workers (default 120) going through one job of
`--tasks` frames (default 6,000). Each Worker asks for a task, sends two
progress reports with a log line, and completes it, with a few hundredths of
a second between its requests, as if rendering a very short frame; its
requests go to the farm's one address.

Prints, for each farm: the tasks finished per second against SQLite's, the
slowest answer, and on PostgreSQL how many sessions waited for a lock, on
average (sampled from pg_stat_activity every 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import psycopg

from bench_scaleout import farm, postgresql_schema
from loadgen import in_batches, register, render_job

PAUSE_SECONDS = (0.02, 0.06)
LOCK_SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Pace:
    label: str
    tasks_per_second: float
    slowest_answer_s: float
    sessions_waiting_for_locks: float | None


class Workers:
    """Simulated Workers going through the farm's one job; the slowest answer they got."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url
        self.slowest_answer_s = 0.0
        self.finished = 0

    async def _post(self, path: str, auth: str, body: object = None) -> tuple[int, object]:
        started = time.perf_counter()
        async with self._session.post(
            self._base_url + path, json=body, headers={"Authorization": auth}
        ) as response:
            answer = await response.json() if response.status == 200 else None
        self.slowest_answer_s = max(self.slowest_answer_s, time.perf_counter() - started)
        if response.status >= 400:
            raise RuntimeError(f"POST {path} answered {response.status}")
        return response.status, answer

    async def work(self, auth: str, done: asyncio.Event) -> None:
        while not done.is_set():
            status, task = await self._post("/api/v3/worker/task", auth)
            if status != 200 or not isinstance(task, dict):
                await asyncio.sleep(random.uniform(*PAUSE_SECONDS))
                continue
            path = f"/api/v3/worker/task/{task['uuid']}"
            for step in range(2):
                await asyncio.sleep(random.uniform(*PAUSE_SECONDS))
                await self._post(path, auth, {"activity": f"step {step}", "log": "rendering\n"})
            await self._post(path, auth, {"taskStatus": "completed"})
            self.finished += 1


@contextlib.asynccontextmanager
async def lock_waits(server: str | None) -> AsyncIterator[list[int]]:
    """Samples of how many sessions of the database wait for a lock, while inside."""
    samples: list[int] = []
    if server is None:
        yield samples
        return
    conn = await psycopg.AsyncConnection.connect(server, autocommit=True)

    async def sample() -> None:
        while True:
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = await cursor.fetchone()
            samples.append(int(row[0]) if row else 0)
            await asyncio.sleep(LOCK_SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        await conn.close()


async def pace(label: str, base_url: str, workers: int, tasks: int, server: str | None) -> Pace:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        auths = await in_batches([register(session, base_url, f"w{n}") for n in range(workers)], 50)
        async with session.post(
            base_url + "/api/v3/jobs", json=render_job("one job", tasks)
        ) as response:
            assert response.status == 200, await response.text()
        # The job's frames, and the video made of them once they are all done.
        total = tasks + 1
        simulated = Workers(session, base_url)
        done = asyncio.Event()
        async with lock_waits(server) as samples:
            started = time.perf_counter()
            running = [asyncio.create_task(simulated.work(auth, done)) for auth in auths]
            try:
                while simulated.finished < total:
                    await asyncio.sleep(0.05)
                    for task in running:
                        if task.done():
                            task.result()  # A refused request fails the run.
                elapsed = time.perf_counter() - started
            finally:
                done.set()
                await asyncio.gather(*running, return_exceptions=True)
    waiting = sum(samples) / len(samples) if samples else None
    return Pace(label, total / elapsed, simulated.slowest_answer_s, waiting)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--processes", default="1,3", help="farm sizes on PostgreSQL")
    parser.add_argument("--workers", type=int, default=120)
    parser.add_argument("--tasks", type=int, default=6000, help="frames of the one job")
    args = parser.parse_args()
    print(f"one job of {args.tasks} frames (and its video), {args.workers} Workers")
    paces: list[Pace] = []
    async with farm("SQLite", "flamenco-manager.sqlite", 1, args.redis) as running:
        paces.append(await pace("SQLite", running.base_url, args.workers, args.tasks, None))
    for count in (int(n) for n in args.processes.split(",")):
        with postgresql_schema(args.postgresql) as url:
            label = f"PostgreSQL x{count}"
            async with farm(label, url, count, args.redis) as running:
                paces.append(
                    await pace(label, running.base_url, args.workers, args.tasks, args.postgresql)
                )
    print(f"{'farm':16} {'tasks/s':>8} {'ratio':>7} {'slowest':>9} {'waiting for locks':>18}")
    for measured in paces:
        ratio = measured.tasks_per_second / paces[0].tasks_per_second
        waiting = (
            "-"
            if measured.sessions_waiting_for_locks is None
            else f"{measured.sessions_waiting_for_locks:.1f}"
        )
        print(
            f"{measured.label:16} {measured.tasks_per_second:8.0f} {ratio:6.2f}x"
            f" {measured.slowest_answer_s:7.2f} s {waiting:>18}"
        )
    print("  (waiting for locks: sessions of the database, on average; on PostgreSQL only)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
