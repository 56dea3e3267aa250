"""Benchmark of the Manager's CPU time per request, against a bare aiohttp endpoint.

Run with `python benchmarks/bench_cpu_per_request.py` (about four minutes; add
`--database postgresql` for a PostgreSQL server, default the local one, in a
schema of its own). A Manager runs in its own process with 100,000+ queued
tasks; a bare aiohttp server in another process answers the same requests as
cheaply as aiohttp can: it parses the task update's JSON, and answers
scheduleTask with the JSON of a task the Manager handed out. The requests come
from other processes at a lower CPU priority, as if from other machines, and
each server's CPU time (user + system, all threads, from /proc) is divided by
the requests it served:

- taskUpdate: a progress report with a log line, from 200 connections, like
  bench_manager's; target at most 3x the bare endpoint's CPU per request;
- scheduleTask: 50 Workers asking at once, each request handing out a task;
  target at most 5x.

In each round the Manager and the bare endpoint take turns, in slices of each
load, so that the machine's other load touches both sides alike; the figures of
every round are printed, then their range. The Manager's files live in TMPDIR:
the benchmark prints what creating a file costs there, since every task handed
out gets its log file. With --profile DIR, the Manager's loads run once more
under py-spy (`py-spy record -r 1000 --nonblocking -f raw`; --profiler py-spy-gil
adds --gil, --profiler perf uses `perf record -g`) and leave DIR/taskUpdate.txt
and DIR/scheduleTask.txt; those figures are left out, since sampling costs CPU too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from loadgen import (
    file_creation_us,
    free_port,
    in_batches,
    manager_process,
    register,
    render_job,
    schedule,
    wait_until_up,
)

WORKERS = 2000
ROUNDS = 3
UPDATE_SECONDS = 12.0
SLICES = 4
UPDATE_CONNECTIONS = 200
SCHEDULE_AT_ONCE = 50
# The bare endpoint answers faster than the Manager: more requests keep its
# CPU time well above the 10 ms resolution of /proc's figures.
BASELINE_SCHEDULE_REQUESTS = 5 * WORKERS
QUEUED_TASKS = 100_000
TASKS_PER_JOB = 1000
CLIENT_PROCESSES = 2
UPDATE_TARGET = 3.0
SCHEDULE_TARGET = 5.0

BASELINE_APP = textwrap.dedent(
    """
    import json, sys
    from aiohttp import web

    assigned_task = json.loads(sys.argv[2])

    async def update(request):
        await request.json()
        return web.Response(status=204)

    async def schedule(request):
        return web.json_response(assigned_task)

    app = web.Application()
    app.router.add_post("/api/v3/worker/task/{task_id}", update)
    app.router.add_post("/api/v3/worker/task", schedule)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


# The load, run in client processes.


@dataclass(frozen=True)
class UpdateLoad:
    """Progress reports with a log line, round robin over (auth, task UUID) pairs."""

    base_url: str
    tasks: list[tuple[str, str]]
    connections: int
    seconds: float


@dataclass(frozen=True)
class ScheduleLoad:
    """scheduleTask once per Worker (auths may repeat for the bare endpoint)."""

    base_url: str
    auths: list[str]
    at_once: int


@dataclass
class LoadResult:
    requests: int = 0
    # For scheduleTask: (auth, task UUID) of every task handed out.
    assigned: list[tuple[str, str]] = field(default_factory=list)


def lower_priority() -> None:
    # The clients would be on other machines: they get the CPU time the servers leave.
    os.setpriority(os.PRIO_PROCESS, 0, 10)


def run_load(load: UpdateLoad | ScheduleLoad) -> LoadResult:
    if isinstance(load, UpdateLoad):
        return asyncio.run(send_updates(load))
    return asyncio.run(send_schedules(load))


class Connection:
    """One keep-alive HTTP/1.1 connection, as cheap on the client's side as Python gets.

    aiohttp's client costs more CPU per request than a bare aiohttp server, so on
    a machine with few cores it, not the server, would set the pace, and a server
    that idles between requests pays more per request than a busy one.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, base_url: str) -> Connection:
        host, port = base_url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    def close(self) -> None:
        self._writer.close()

    async def post(self, path: str, auth: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {auth}\r\n"
        if body is None:
            head += "Content-Length: 0\r\n\r\n"
        else:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self._writer.write(head.encode() + (body or b""))
        header = await self._reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not expected here")
        return status, await self._reader.readexactly(length) if length else b""


async def send_updates(load: UpdateLoad) -> LoadResult:
    result = LoadResult()
    deadline = time.perf_counter() + load.seconds

    async def one_connection(offset: int) -> None:
        connection = await Connection.open(load.base_url)
        index = offset
        while time.perf_counter() < deadline:
            auth, task_id = load.tasks[index % len(load.tasks)]
            index += load.connections
            body = json.dumps({"log": f"Fra:{index} Mem:12.3M | Rendering tile {index}\n"})
            status, _ = await connection.post(f"/api/v3/worker/task/{task_id}", auth, body.encode())
            if status != 204:
                raise RuntimeError(f"task update answered {status}")
            result.requests += 1
        connection.close()

    await asyncio.gather(*(one_connection(offset) for offset in range(load.connections)))
    return result


async def send_schedules(load: ScheduleLoad) -> LoadResult:
    result = LoadResult()
    waiting = iter(load.auths)

    async def one_worker_at_a_time() -> None:
        connection = await Connection.open(load.base_url)
        for auth in waiting:
            status, body = await connection.post("/api/v3/worker/task", auth)
            if status != 200:
                raise RuntimeError(f"scheduleTask answered {status}: {body!r}")
            result.assigned.append((auth, json.loads(body)["uuid"]))
            result.requests += 1
        connection.close()

    await asyncio.gather(*(one_worker_at_a_time() for _ in range(load.at_once)))
    return result


# Measuring, in this process.


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, all its threads, as the kernel counts it."""
    # The fields after the command name, which may itself hold spaces and ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # Fields 14 and 15 of proc(5).
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figure:
    requests: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_per_request_us(self) -> float:
        return self.cpu_seconds / self.requests * 1e6

    @property
    def rate(self) -> float:
        return self.requests / self.wall_seconds

    def __add__(self, other: Figure) -> Figure:
        return Figure(
            self.requests + other.requests,
            self.cpu_seconds + other.cpu_seconds,
            self.wall_seconds + other.wall_seconds,
        )


NO_FIGURE = Figure(0, 0.0, 0.0)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


class Clients:
    """A pool of client processes at lower priority; each load is split over them."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._processes = processes
        self._pool = context.Pool(processes, initializer=lower_priority)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    async def measure(
        self, server_pid: int, loads: list[UpdateLoad] | list[ScheduleLoad]
    ) -> tuple[Figure, list[LoadResult]]:
        before, started = cpu_seconds(server_pid), time.perf_counter()
        results = await asyncio.to_thread(self._pool.map, run_load, loads)
        wall, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - before
        return Figure(sum(r.requests for r in results), cpu, wall), results

    async def updates(
        self, pid: int, base_url: str, tasks: list[tuple[str, str]], seconds: float
    ) -> Figure:
        connections = UPDATE_CONNECTIONS // self._processes
        loads = [
            UpdateLoad(base_url, tasks[n :: self._processes], connections, seconds)
            for n in range(self._processes)
        ]
        figure, _ = await self.measure(pid, loads)
        return figure

    async def schedules(
        self, pid: int, base_url: str, auths: list[str]
    ) -> tuple[Figure, list[tuple[str, str]]]:
        at_once = SCHEDULE_AT_ONCE // self._processes
        loads = [
            ScheduleLoad(base_url, auths[n :: self._processes], at_once)
            for n in range(self._processes)
        ]
        figure, results = await self.measure(pid, loads)
        return figure, [pair for result in results for pair in result.assigned]


@contextlib.contextmanager
def profiler(pid: int, output: Path, tool: str) -> Iterator[None]:
    """Record the process meanwhile into `output`.

    py-spy (sampling without pausing the process) shows Python's frames, with
    py-spy-gil only those of the thread running Python code; perf shows where the
    CPU time goes in C and in the kernel, but no Python frames.
    """
    if tool == "perf":
        command = ["perf", "record", "-F", "999", "-g", "-o", str(output), "-p", str(pid)]
    else:
        # py-spy sits beside this Python in a virtual environment that is not on PATH.
        beside = Path(sys.executable).with_name("py-spy")
        program = str(beside) if beside.exists() else shutil.which("py-spy") or "py-spy"
        command = [program, "record", "-r", "1000", "--nonblocking", "-f", "raw"]
        command += ["-o", str(output), "-p", str(pid)]
        if tool == "py-spy-gil":
            command.append("--gil")  # Only the thread running Python code.
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # The profiler attaches before the load starts.
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait()


@dataclass
class Rounds:
    """Every round's four figures."""

    figures: dict[str, list[Figure]] = field(default_factory=dict)

    def add(self, name: str, figure: Figure) -> None:
        self.figures.setdefault(name, []).append(figure)

    def ratios(self, request: str) -> list[float]:
        manager, bare = self.figures[f"manager {request}"], self.figures[f"bare {request}"]
        return [
            m.cpu_per_request_us / b.cpu_per_request_us for m, b in zip(manager, bare, strict=True)
        ]


def print_figure(name: str, figure: Figure) -> None:
    print(
        f"  {name}: {figure.requests:,} requests in {figure.wall_seconds:.1f} s"
        f" ({figure.rate:,.0f}/s), server CPU {figure.cpu_seconds:.2f} s ="
        f" {figure.cpu_per_request_us:,.0f} us per request",
        flush=True,
    )


def print_summary(rounds: Rounds) -> None:
    print("summary, CPU time per request over the rounds (min - median - max):")
    for name, figures in rounds.figures.items():
        values = [f.cpu_per_request_us for f in figures]
        print(
            f"  {name}: {min(values):,.0f} - {statistics.median(values):,.0f}"
            f" - {max(values):,.0f} us"
        )
    for request, target in (("taskUpdate", UPDATE_TARGET), ("scheduleTask", SCHEDULE_TARGET)):
        ratios = rounds.ratios(request)
        median = statistics.median(ratios)
        verdict = "met" if median <= target else "NOT met"
        print(
            f"  {request}: Manager / bare endpoint = {min(ratios):.2f} - {median:.2f}"
            f" - {max(ratios):.2f} x (target <= {target:g}x: {verdict})"
        )


async def submit_jobs(session: aiohttp.ClientSession, base_url: str, tasks: int) -> None:
    # render_job(n) has n frame tasks and one video task.
    for number in range(math.ceil(tasks / TASKS_PER_JOB)):
        async with session.post(
            base_url + "/api/v3/jobs", json=render_job(f"queued-{number}", TASKS_PER_JOB - 1)
        ) as response:
            assert response.status == 200, await response.text()


async def complete(
    session: aiohttp.ClientSession, base_url: str, assigned: list[tuple[str, str]]
) -> None:
    """Finish the tasks, so that the Workers ask for new ones in the next round."""

    async def one(auth: str, task_id: str) -> None:
        async with session.post(
            f"{base_url}/api/v3/worker/task/{task_id}",
            json={"taskStatus": "completed"},
            headers={"Authorization": auth},
        ) as response:
            assert response.status == 204, await response.text()

    await in_batches([one(auth, task) for auth, task in assigned], 50)


@contextlib.contextmanager
def bare_endpoint(assigned_task: dict[str, Any]) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-c", BASELINE_APP, str(port), json.dumps(assigned_task)]
    process = subprocess.Popen(command)
    try:
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.postgresql import fresh_schema

    with fresh_schema() as url:
        yield url


async def run(arguments: argparse.Namespace) -> None:
    print(
        f"creating a file in {tempfile.gettempdir()} costs {file_creation_us():.0f} us of CPU"
        " (a scheduled task creates its log file; TMPDIR moves the Manager's files)",
        flush=True,
    )
    clients = Clients(CLIENT_PROCESSES)
    rounds = Rounds()
    try:
        with database(arguments.database) as url:
            # The first daily backup, a minute after starting, would land in some
            # round's figures: a backup is no part of any request's cost.
            async with manager_process(url, {"database_backup_period": "0s"}) as manager:
                await benchmark(arguments, clients, rounds, manager.base_url, manager.pid)
    finally:
        clients.close()
    if rounds.figures:
        print_summary(rounds)


async def benchmark(
    arguments: argparse.Namespace, clients: Clients, rounds: Rounds, base_url: str, pid: int
) -> None:
    workers = arguments.workers
    connector = aiohttp.TCPConnector(limit=SCHEDULE_AT_ONCE)
    async with aiohttp.ClientSession(connector=connector) as session:
        extra_rounds = 1 if arguments.profile else 0
        tasks = arguments.queued + (arguments.rounds + extra_rounds) * workers
        print(f"queueing {tasks:,} tasks in jobs of {TASKS_PER_JOB} ...", flush=True)
        await submit_jobs(session, base_url, tasks)
        # After queueing, which takes a while: a Worker unseen for a minute times out.
        print(f"registering {workers} Workers ...", flush=True)
        auths = await in_batches(
            [register(session, base_url, f"bench-{n:04d}") for n in range(workers)], 50
        )

        # The bare endpoint answers with a task the Manager handed out.
        _, example = await schedule(session, base_url, auths[0])
        await complete(session, base_url, [(auths[0], example["uuid"])])

        with bare_endpoint(example) as bare:
            await wait_until_up(bare.url + "/")
            manager = Server(base_url, pid)
            for number in range(1, arguments.rounds + 1):
                print(f"round {number} of {arguments.rounds}:", flush=True)
                figures, assigned = await measure_round(
                    clients, manager, bare, auths, arguments.seconds, arguments.slices
                )
                for name, figure in figures.items():
                    print_figure(name, figure)
                    rounds.add(name, figure)
                for request in ("taskUpdate", "scheduleTask"):
                    ratio = rounds.ratios(request)[-1]
                    print(f"  {request}: {ratio:.2f} x the bare endpoint's CPU per request")
                await complete(session, base_url, assigned)
            if arguments.profile:
                await profile_round(clients, manager, auths, arguments)


async def measure_round(
    clients: Clients,
    manager: Server,
    bare: Server,
    auths: list[str],
    seconds: float,
    slices: int,
) -> tuple[dict[str, Figure], list[tuple[str, str]]]:
    """Every Worker asks for a task, then reports on it, with the bare endpoint in between.

    Each load comes in slices, the Manager's and the bare endpoint's taking turns,
    so that both meet the same moments of the machine's other load.
    """
    figures = {
        name: NO_FIGURE
        for name in (
            "manager scheduleTask",
            "bare scheduleTask",
            "manager taskUpdate",
            "bare taskUpdate",
        )
    }
    assigned: list[tuple[str, str]] = []
    per_slice = math.ceil(len(auths) / slices)
    bare_per_slice = math.ceil(BASELINE_SCHEDULE_REQUESTS / slices)
    bare_auths = (auths * math.ceil(bare_per_slice / len(auths)))[:bare_per_slice]
    for number in range(slices):
        for side in (manager, bare) if number % 2 == 0 else (bare, manager):
            if side is manager:
                part = auths[number * per_slice : (number + 1) * per_slice]
                figure, handed_out = await clients.schedules(manager.pid, manager.url, part)
                figures["manager scheduleTask"] += figure
                assigned += handed_out
            else:
                figure, _ = await clients.schedules(bare.pid, bare.url, bare_auths)
                figures["bare scheduleTask"] += figure
    for number in range(slices):
        for side in (manager, bare) if number % 2 == 0 else (bare, manager):
            name = "manager taskUpdate" if side is manager else "bare taskUpdate"
            figures[name] += await clients.updates(side.pid, side.url, assigned, seconds / slices)
    return figures, assigned


async def profile_round(
    clients: Clients, manager: Server, auths: list[str], arguments: argparse.Namespace
) -> None:
    """The Manager's loads once more, whole, under the profiler; the figures are not counted."""
    print(f"one more round under {arguments.profiler}, figures not counted:", flush=True)
    folder = Path(arguments.profile)
    with profiler(manager.pid, folder / "scheduleTask.txt", arguments.profiler):
        figure, assigned = await clients.schedules(manager.pid, manager.url, auths)
    print_figure("manager scheduleTask", figure)
    with profiler(manager.pid, folder / "taskUpdate.txt", arguments.profiler):
        figure = await clients.updates(manager.pid, manager.url, assigned, arguments.seconds)
    print_figure("manager taskUpdate", figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the Manager's database (PostgreSQL: FLAMENCO_TEST_POSTGRESQL_URL, default local)",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="default %(default)s")
    parser.add_argument(
        "--seconds", type=float, default=UPDATE_SECONDS, help="taskUpdate load per round"
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=SLICES,
        help="turns the Manager and the bare endpoint take per load and round",
    )
    parser.add_argument("--workers", type=int, default=WORKERS, help="scheduleTask calls per round")
    parser.add_argument(
        "--queued", type=int, default=QUEUED_TASKS, help="tasks left queued at the end"
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="record one more round with a profiler into DIR"
    )
    parser.add_argument(
        "--profiler",
        choices=("py-spy", "py-spy-gil", "perf"),
        default="py-spy",
        help="default %(default)s",
    )
    arguments = parser.parse_args()
    if arguments.profile:
        Path(arguments.profile).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(arguments))


if __name__ == "__main__":
    main()
