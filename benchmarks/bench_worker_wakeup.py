"""Benchmark of waking idle Workers: how soon after a submission the first task starts.

Run with `python benchmarks/bench_worker_wakeup.py` (about 8 minutes, most of it
the polling baseline; `--workers 1,10`, `--submissions`, `--baseline-submissions`
(0 skips the baseline) and `--idle-seconds` change the load). A Manager runs in
its own process, started afresh for each farm size and mode; this process plays
N idle, awake Workers built from the real Worker's parts (its HTTP client, state
machine and work notice socket, with upstream's timings: a scheduleTask every
20 s +- 10 % while idle), whose tasks finish at once. Once every Worker is idle
it measures the Manager's CPU use for a while, then submits an echo-sleep-test
job several times, each time once every Worker is idle again, and measures from
just before the submission until the first Worker has a task:

- with work notices: the Workers keep our Manager's notice socket open and ask
  for a task as soon as it says work may be waiting (target under 1 s);
- polling only (the baseline, what upstream Workers do): the same Workers
  without the socket. Submissions come at a random moment of the 20 s poll
  cycle. Workers started together keep polling at about the same moments, as
  on a farm that was switched on at once, so more Workers help less than one
  might think.

Printed per farm size and mode: the median and maximum latency, the
scheduleTask calls and Manager CPU time from each submission until its job
was done, the Manager's CPU use while every Worker waited, and the ratio of
the median latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from flamenco.clock import SystemClock
from flamenco.worker.client import Answer, ManagerClient
from flamenco.worker.config import Credentials
from flamenco.worker.states import StateMachine, Timings
from flamenco.worker.work_notices import WorkNotices
from loadgen import manager_process

TASK_TYPES = ["misc", "blender", "ffmpeg", "file-management"]
TARGET_SECONDS = 1.0
POLL_SECONDS = Timings().no_task


@dataclass
class Farm:
    """What every simulated Worker's scheduleTask calls have said, for the measurements."""

    idle: set[int] = field(default_factory=set)
    first_task_at: float | None = None
    questions: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class RecordingClient(ManagerClient):
    """The Worker's own client, noting when scheduleTask hands out work."""

    def __init__(self, base_url: str, number: int, farm: Farm) -> None:
        super().__init__(base_url)
        self.number = number
        self.farm = farm

    async def schedule_task(self) -> Answer:
        answer = await super().schedule_task()
        farm = self.farm
        farm.questions += 1
        if answer.status == 200:
            farm.idle.discard(self.number)
            if farm.first_task_at is None:
                farm.first_task_at = time.perf_counter()
        elif answer.status == 204:
            farm.idle.add(self.number)
        farm.changed.set()
        return answer


class InstantRunner:
    """Finishes each task at once, as if the render took no time."""

    def __init__(self, client: ManagerClient) -> None:
        self._client = client

    async def run(self, task: Mapping[str, Any]) -> None:
        update = {"taskStatus": "completed", "activity": "done"}
        answer = await self._client.task_update(str(task["uuid"]), update)
        if answer.status != 204:
            raise RuntimeError(f"taskUpdate answered {answer.status}: {answer.message}")


@dataclass
class SimulatedWorker:
    client: RecordingClient
    notices: WorkNotices | None
    tasks: list[asyncio.Task[Any]]


async def start_worker(base_url: str, number: int, farm: Farm, notices: bool) -> SimulatedWorker:
    client = RecordingClient(base_url, number, farm)
    secret = secrets.token_hex(16)
    answer = await client.register_worker(
        name=f"wakeup-{number:03d}", platform="linux", secret=secret, task_types=TASK_TYPES
    )
    client.credentials = Credentials(str(answer.body["uuid"]), secret)
    answer = await client.sign_on(
        name=f"wakeup-{number:03d}", task_types=TASK_TYPES, can_restart=False
    )
    requested = str(answer.body["status_requested"])
    clock = SystemClock()
    socket = WorkNotices(client, clock) if notices and await client.offers_work_notices() else None
    machine = StateMachine(client, InstantRunner(client), clock, notices=socket)
    tasks = [asyncio.create_task(machine.run(requested))]
    if socket is not None:
        tasks.append(asyncio.create_task(socket.run()))
    return SimulatedWorker(client, socket, tasks)


async def stop_worker(worker: SimulatedWorker) -> None:
    for task in worker.tasks:
        task.cancel()
    await asyncio.gather(*worker.tasks, return_exceptions=True)
    if worker.notices is not None:
        await worker.notices.close()
    with contextlib.suppress(Exception):
        await worker.client.sign_off(timeout=3.0)
    await worker.client.close()


async def wait_until(farm: Farm, condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the Workers did not get there in time")
        farm.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(farm.changed.wait(), min(remaining, 1.0))


async def job_status(session: aiohttp.ClientSession, base_url: str, job_id: str) -> str:
    async with session.get(f"{base_url}/api/v3/jobs/{job_id}") as response:
        return str((await response.json())["status"])


def echo_sleep_job(number: int) -> dict[str, Any]:
    return {
        "name": f"wake-up {number}",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "wake up", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    latencies: list[float]
    questions_per_job: list[int]
    # The Manager's CPU time from each submission until its job was done.
    cpu_per_job: list[float]
    # The Manager's CPU use while every Worker waited, as a share of one core.
    idle_share: float


async def measure(
    workers: int, submissions: int, notices: bool, rng: random.Random, idle_seconds: float
) -> Result:
    farm = Farm()
    latencies: list[float] = []
    questions: list[int] = []
    cpu_per_job: list[float] = []
    async with manager_process() as manager, aiohttp.ClientSession() as session:
        base_url = manager.base_url
        simulated = [
            await start_worker(base_url, number, farm, notices) for number in range(workers)
        ]
        try:
            await wait_until(farm, lambda: len(farm.idle) == workers, 3 * POLL_SECONDS)
            cpu_before, idle_started = cpu_seconds(manager.pid), time.monotonic()
            await asyncio.sleep(idle_seconds)
            idle_share = (cpu_seconds(manager.pid) - cpu_before) / (time.monotonic() - idle_started)
            for number in range(submissions):
                await wait_until(farm, lambda: len(farm.idle) == workers, 3 * POLL_SECONDS)
                # Polling Workers ask at moments of their own; a submission may come at
                # any point of their cycle.
                spread = POLL_SECONDS if not notices else 0.5
                await asyncio.sleep(rng.uniform(0, spread))
                farm.first_task_at = None
                asked_before = farm.questions
                cpu_before = cpu_seconds(manager.pid)
                started = time.perf_counter()
                async with session.post(
                    base_url + "/api/v3/jobs", json=echo_sleep_job(number)
                ) as response:
                    assert response.status == 200, await response.text()
                    job_id = (await response.json())["id"]
                await wait_until(farm, lambda: farm.first_task_at is not None, 3 * POLL_SECONDS)
                assert farm.first_task_at is not None
                latencies.append(farm.first_task_at - started)
                while await job_status(session, base_url, job_id) != "completed":
                    await asyncio.sleep(0.1)
                questions.append(farm.questions - asked_before)
                cpu_per_job.append(cpu_seconds(manager.pid) - cpu_before)
                print(
                    f"    {'notices' if notices else 'polling'} N={workers}: job {number + 1}:"
                    f" first task after {latencies[-1]:.3f} s",
                    flush=True,
                )
        finally:
            await asyncio.gather(*(stop_worker(worker) for worker in simulated))
    return Result(latencies, questions, cpu_per_job, idle_share)


def describe(result: Result) -> str:
    return (
        f"median {statistics.median(result.latencies):.3f} s,"
        f" max {max(result.latencies):.3f} s; until the job was done"
        f" {statistics.mean(result.questions_per_job):.0f} scheduleTask calls and"
        f" {statistics.mean(result.cpu_per_job) * 1000:.0f} ms Manager CPU;"
        f" Manager CPU while all wait {result.idle_share * 100:.2f} %"
    )


async def run(
    sizes: list[int], submissions: int, baseline_submissions: int, idle_seconds: float
) -> int:
    rng = random.Random(12)
    print(
        "Submit-to-first-task latency of an echo-sleep-test job, idle awake Workers"
        f" (poll every {POLL_SECONDS:.0f} s +- 10 %)",
        flush=True,
    )
    passed = True
    summary: list[str] = []
    for size in sizes:
        with_notices = await measure(size, submissions, True, rng, idle_seconds)
        worst = max(with_notices.latencies)
        passed = passed and worst < TARGET_SECONDS
        summary += [
            f"  {size} idle Worker{'s' if size != 1 else ''}:",
            f"    work notices: {describe(with_notices)}  (target max < {TARGET_SECONDS:g} s)",
        ]
        if baseline_submissions:
            polling = await measure(size, baseline_submissions, False, rng, idle_seconds)
            ratio = statistics.median(polling.latencies) / statistics.median(with_notices.latencies)
            summary += [
                f"    polling only: {describe(polling)}  (baseline)",
                f"    median latency {ratio:,.0f} x shorter with notices",
            ]
    print("\n".join(summary))
    return 0 if passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,10,100", help="farm sizes, comma-separated")
    parser.add_argument("--submissions", type=int, default=5, help="jobs per size, notices")
    parser.add_argument(
        "--baseline-submissions", type=int, default=3, help="jobs per size, polling only (0: none)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="how long to measure the idle Manager"
    )
    args = parser.parse_args()
    # The simulated Workers log like real ones; only the figures matter here.
    logging.basicConfig(level=logging.ERROR)
    sizes = [int(size) for size in args.workers.split(",")]
    return asyncio.run(run(sizes, args.submissions, args.baseline_submissions, args.idle_seconds))


if __name__ == "__main__":
    sys.exit(main())
