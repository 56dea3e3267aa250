"""Benchmark of a farm on several Manager processes: throughput, scheduling latency, CPU.

Run with `python benchmarks/bench_scaleout.py` (PostgreSQL and Redis must run;
defaults: the local ones, `--postgresql URL`, `--redis URL`). In one run it
starts, one after the other, a Manager on SQLite and farms of 1, 2 and 4
processes (`flamenco-manager --processes N`) on PostgreSQL, each with 1,000
registered Workers and 100,000 queued tasks, and measures:

- taskUpdate throughput at saturation (progress reports with a log line), from
  load generator processes of their own (`--load-processes`, at lower priority);
- the Manager's CPU time per taskUpdate, per process, and the PostgreSQL server's
  when it runs on this machine;
- scheduleTask latency with 100,000 queued tasks, 1,000 Workers asking, and the
  CPU that the Manager, the PostgreSQL server and the load generator spend on
  each task handed out, when they run on this machine;
- submitting a 10,000-frame job (10,001 tasks) to the PostgreSQL farm.

Targets: 4 processes >= 3x one process on a machine with at least 8 cores
(on fewer, compare CPU per request instead); one process on PostgreSQL >= 0.7x
one process on SQLite; scheduleTask p99 < 20 ms everywhere; submission < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import queue
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from loadgen import (
    file_creation_us,
    free_port,
    in_batches,
    percentile,
    register,
    render_job,
    wait_until_up,
)

TASKS_PER_JOB = 1000
SCHEDULE_CONCURRENCY = 20
# Longer than any answer of a working Manager under this load takes.
ANSWER_TIMEOUT_SECONDS = 30


@dataclass
class Farm:
    label: str
    base_url: str
    supervisor: subprocess.Popen[bytes]

    def manager_pids(self) -> list[int]:
        """The supervisor itself (one process), or its Manager children."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.supervisor.pid:
                    children.append(int(entry.name))
        return children or [self.supervisor.pid]


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes so far."""
    return sum(cpu_seconds_each(pids).values())


def cpu_seconds_each(pids: list[int]) -> dict[int, float]:
    """utime + stime of each of these processes so far (those still running)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def postgresql_server_pids() -> list[int]:
    """This machine's PostgreSQL server processes (none when the server is elsewhere).

    Counted for every farm: a SQLite farm's figure shows what the server does meanwhile.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
    return pids


def postgresql_cpu_since(before: dict[int, float]) -> float:
    """CPU of this machine's PostgreSQL server since `before` (from cpu_seconds_each).

    Server processes started meanwhile (connections opened) count from zero.
    """
    after = cpu_seconds_each(postgresql_server_pids())
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass(frozen=True)
class SchedulingCost:
    """CPU per scheduled task of each party on this machine, in ms."""

    manager: float
    postgresql: float
    load_generator: float

    @property
    def fastest_schedule_ms(self) -> float:
        """The shortest time a scheduled task can take when all parties share the cores."""
        total = self.manager + self.postgresql + self.load_generator
        return total / (os.cpu_count() or 1)


@contextlib.asynccontextmanager
async def farm(label: str, database: str, processes: int, redis_url: str) -> AsyncIterator[Farm]:
    with tempfile.TemporaryDirectory(prefix="flamenco-scaleout-") as directory:
        root = Path(directory)
        (root / "shared").mkdir()
        port = free_port()
        (root / "flamenco-manager.yaml").write_text(
            f"_meta:\n  version: 3\nmanager_name: Scale-out Benchmark\n"
            f"database: {database}\nlisten: 127.0.0.1:{port}\n"
            f"local_manager_storage_path: ./storage\nshared_storage_path: {root / 'shared'}\n"
            f"autodiscoverable: false\nshaman:\n  enabled: false\n"
            f"redis_url: {redis_url if processes > 1 else ''}\n"
        )
        command = [sys.executable, "-m", "flamenco.manager", "--quiet"]
        if processes > 1:
            command += ["--processes", str(processes)]
        supervisor = subprocess.Popen(command, cwd=root, stderr=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        try:
            await wait_until_up(base_url + "/api/v3/version")
            yield Farm(label, base_url, supervisor)
        finally:
            supervisor.terminate()
            supervisor.wait()


@contextlib.contextmanager
def postgresql_schema(server: str) -> Any:
    """A fresh schema on `server`, dropped afterwards; the URL to use it."""
    schema = f"flamenco_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@dataclass(frozen=True)
class Size:
    workers: int = 1000
    jobs: int = 100


async def fill(session: aiohttp.ClientSession, base_url: str, size: Size) -> list[str]:
    """The Workers, and a thousand queued tasks per job; returns the Workers' credentials."""
    workers = await in_batches(
        [register(session, base_url, f"w{n}") for n in range(size.workers)], 50
    )
    for number in range(size.jobs):
        async with session.post(
            base_url + "/api/v3/jobs", json=render_job(f"job {number}", TASKS_PER_JOB - 1)
        ) as response:
            assert response.status == 200, await response.text()
    return workers


async def measure_scheduling(
    session: aiohttp.ClientSession, base_url: str, workers: list[str]
) -> tuple[list[float], list[tuple[str, str]]]:
    """Each Worker asks for a task, SCHEDULE_CONCURRENCY at a time; latencies and tasks."""
    latencies: list[float] = []
    assigned: list[tuple[str, str]] = []

    async def ask(auth: str) -> None:
        started = time.perf_counter()
        async with session.post(
            base_url + "/api/v3/worker/task", headers={"Authorization": auth}
        ) as response:
            body = await response.json()
            assert response.status == 200, body
        latencies.append(time.perf_counter() - started)
        assigned.append((auth, body["uuid"]))

    await in_batches([ask(auth) for auth in workers], SCHEDULE_CONCURRENCY)
    return latencies, assigned


def send_updates(base_url: str, assigned: list[tuple[str, str]], seconds: float, out: Any) -> None:
    """A load generator process: progress reports as fast as the Manager answers them."""
    os.nice(5)

    async def run() -> int:
        done = 0
        deadline = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def client() -> None:
                nonlocal done
                while time.monotonic() < deadline:
                    auth, task = random.choice(assigned)
                    async with session.post(
                        f"{base_url}/api/v3/worker/task/{task}",
                        json={"activity": "rendering", "log": "Fra:1 Mem:12M | Sample 8/16\n"},
                        headers={"Authorization": auth},
                    ) as response:
                        await response.read()
                        if response.status == 204:
                            done += 1

            await asyncio.gather(*(client() for _ in range(64)))
        return done

    out.put(asyncio.run(run()))


def saturate(
    base_url: str, assigned: list[tuple[str, str]], seconds: float, load_processes: int
) -> int:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    share = [assigned[n::load_processes] for n in range(load_processes)]
    runners = [
        context.Process(target=send_updates, args=(base_url, part, seconds, results))
        for part in share
    ]
    for runner in runners:
        runner.start()
    try:
        # A load generator that failed (a request left unanswered, say)
        # sends nothing: say so rather than wait for it forever.
        total = sum(results.get(timeout=seconds + ANSWER_TIMEOUT_SECONDS) for _ in runners)
    except queue.Empty:
        raise RuntimeError("a load generator failed: see its traceback above") from None
    finally:
        for runner in runners:
            runner.join()
    return total


@dataclass
class Figures:
    label: str
    processes: int
    updates_per_second: float
    cpu_ms_per_update: float
    server_cpu_ms_per_update: float
    schedule_p50_ms: float
    schedule_p99_ms: float
    scheduling_cost: SchedulingCost


async def bench(
    farm_: Farm, processes: int, seconds: float, load_processes: int, size: Size
) -> Figures:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = await fill(session, farm_.base_url, size)
        pids = farm_.manager_pids()
        manager_before, client_before = cpu_seconds(pids), time.process_time()
        server_before = cpu_seconds_each(postgresql_server_pids())
        latencies, assigned = await measure_scheduling(session, farm_.base_url, workers)
        server = postgresql_cpu_since(server_before)
        manager, client = cpu_seconds(pids) - manager_before, time.process_time() - client_before
    cost = SchedulingCost(
        *(1000 * seconds / len(latencies) for seconds in (manager, server, client))
    )
    cpu_before, server_before = cpu_seconds(pids), cpu_seconds_each(postgresql_server_pids())
    started = time.perf_counter()
    updates = await asyncio.to_thread(saturate, farm_.base_url, assigned, seconds, load_processes)
    elapsed = time.perf_counter() - started
    cpu, server = cpu_seconds(pids) - cpu_before, postgresql_cpu_since(server_before)
    return Figures(
        label=farm_.label,
        processes=processes,
        updates_per_second=updates / elapsed,
        cpu_ms_per_update=1000 * cpu / max(updates, 1),
        server_cpu_ms_per_update=1000 * server / max(updates, 1),
        schedule_p50_ms=statistics.median(latencies) * 1000,
        schedule_p99_ms=percentile(latencies, 0.99) * 1000,
        scheduling_cost=cost,
    )


async def submission_seconds(base_url: str) -> float:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.post(base_url + "/api/v3/jobs", json=render_job("big", 10_000)) as r:
            assert r.status == 200, await r.text()
        return time.perf_counter() - started


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--processes", default="1,2,4", help="farm sizes on PostgreSQL")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each load")
    parser.add_argument(
        "--load-processes", type=int, default=max(1, (os.cpu_count() or 2) // 2),
        help="load generator processes (default: half the cores)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1000, help="Workers per farm")
    parser.add_argument("--jobs", type=int, default=100, help="jobs of 1,000 tasks per farm")
    args = parser.parse_args()
    size = Size(workers=args.workers, jobs=args.jobs)
    cores = os.cpu_count() or 1
    print(
        f"{cores} cores; {size.workers} Workers, {size.jobs * TASKS_PER_JOB} queued tasks "
        f"per farm; {args.load_processes} load processes, {args.seconds:.0f} s of load each"
    )
    print(
        f"creating a file in {tempfile.gettempdir()} costs {file_creation_us():.0f} us of CPU"
        " (a scheduled task creates its log file; TMPDIR moves the farms' files)"
    )
    figures: list[Figures] = []
    async with farm("SQLite", "flamenco-manager.sqlite", 1, args.redis) as running:
        figures.append(await bench(running, 1, args.seconds, args.load_processes, size))
    submission = None
    for count in (int(n) for n in args.processes.split(",")):
        with postgresql_schema(args.postgresql) as url:
            async with farm(f"PostgreSQL x{count}", url, count, args.redis) as running:
                figures.append(await bench(running, count, args.seconds, args.load_processes, size))
                if submission is None:
                    submission = await submission_seconds(running.base_url)

    sqlite, *postgresql = figures
    one = next((f for f in postgresql if f.processes == 1), None)
    print(f"{'farm':16} {'taskUpdate/s':>12} {'ratio':>7} {'CPU/update':>11}"
          f" {'PostgreSQL':>11} {'schedule p50':>13} {'p99':>8}")  # fmt: skip
    for f in figures:
        ratio = f.updates_per_second / (one or sqlite).updates_per_second
        print(
            f"{f.label:16} {f.updates_per_second:12.0f} {ratio:6.2f}x"
            f" {f.cpu_ms_per_update:8.3f} ms {f.server_cpu_ms_per_update:8.3f} ms"
            f" {f.schedule_p50_ms:10.1f} ms"
            f" {f.schedule_p99_ms:6.1f} ms"
        )
    print("  (CPU per update: of the Manager processes; of the PostgreSQL server on this machine)")
    if one is not None:
        against_sqlite = one.updates_per_second / sqlite.updates_per_second
        print(f"PostgreSQL x1 against SQLite: {against_sqlite:.2f}x (target >= 0.7x)")
        four = next((f for f in postgresql if f.processes == 4), None)
        if four is not None:
            ratio = four.updates_per_second / one.updates_per_second
            note = "" if cores >= 8 else f" (only {cores} cores: compare CPU per update instead)"
            print(f"4 processes against 1: {ratio:.2f}x (target >= 3x on 8+ cores){note}")
    print(f"{'CPU per schedule':16} {'Manager':>9} {'PostgreSQL':>11} {'load gen':>9}"
          f" {'at best':>9} {'x' + str(SCHEDULE_CONCURRENCY):>8}")  # fmt: skip
    for f in figures:
        cost = f.scheduling_cost
        fastest = cost.fastest_schedule_ms
        print(
            f"{f.label:16} {cost.manager:6.2f} ms {cost.postgresql:8.2f} ms"
            f" {cost.load_generator:6.2f} ms {fastest:6.2f} ms"
            f" {fastest * SCHEDULE_CONCURRENCY:5.1f} ms"
        )
    print(
        f"  (CPU of each party on this machine per task handed out; at best: all of it"
        f" spread over {cores} cores; x{SCHEDULE_CONCURRENCY}: so the last of"
        f" {SCHEDULE_CONCURRENCY} Workers asking at once waits at least this: a floor"
        " under p99)"
    )
    worst = max(f.schedule_p99_ms for f in figures)
    print(f"scheduleTask p99, worst farm: {worst:.1f} ms (target < 20 ms)")
    if submission is not None:
        print(f"10,000-frame job submitted to PostgreSQL in {submission:.2f} s (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
