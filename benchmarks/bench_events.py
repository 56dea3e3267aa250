"""Benchmark of live events: 500 Socket.IO clients and bursts of 10,000 task updates.

Run with `python benchmarks/bench_events.py` (about a minute). A Manager runs
in its own process; 500 Socket.IO clients subscribe to all jobs, as open web
interfaces do, and 50 of them (--followers) also follow the jobs' tasks. Like
the web interface, the clients ask for batched events (one message per flush);
with --per-event they take upstream's one message per event instead. This
process plays all clients and Workers at a lower CPU priority, as if they were
on other machines. Two bursts follow, while one more Worker, in a process of
its own, keeps asking for tasks:

1. the 10,000 tasks of a job cancelled, then requeued, in one request each;
2. 10,000 progress reports from 1,000 Workers, sent as fast as they go.

Printed for each: how long after the burst every client had the final state
(target under 2 s) and scheduleTask's latency during the burst (target p99
under 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import socketio

from loadgen import (
    SchedulingProbe,
    in_batches,
    manager_process,
    register,
    render_job,
    report_latencies,
    schedule,
)

CLIENTS = 500
# How many of the clients also follow the jobs' tasks; set with --followers.
FOLLOWING_THE_JOB = 50
WORKERS = 1000
STEPS_PER_TASK = 10
BIG_JOB_TASKS = 10_000


# Set with --per-event: clients take one message per event, as upstream's web UI does.
PER_EVENT = False


class Client:
    """A Socket.IO client that remembers the newest state it heard of every task and job."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.task_steps: dict[str, int] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.sio.on("/task", self._on_task)
        self.sio.on("/jobs", self._on_job)
        self.sio.on("/batch", self._on_batch)

    async def _on_task(self, payload: dict[str, Any]) -> None:
        self.task_steps[payload["id"]] = payload["steps_completed"]

    async def _on_job(self, payload: dict[str, Any]) -> None:
        self.jobs[payload["id"]] = payload

    async def _on_batch(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for name, payload in events:
            if name == "/task":
                await self._on_task(payload)
            elif name == "/jobs":
                await self._on_job(payload)


async def connect_clients(base_url: str, followed_jobs: list[str]) -> list[Client]:
    clients = [Client() for _ in range(CLIENTS)]

    async def connect(number: int, client: Client) -> None:
        await client.sio.connect(
            base_url, transports=["websocket"], auth=None if PER_EVENT else {"batched": True}
        )
        await client.sio.call("/subscription", {"op": "subscribe", "type": "allJobs"})
        if number < FOLLOWING_THE_JOB:
            for job_id in followed_jobs:
                await client.sio.call(
                    "/subscription", {"op": "subscribe", "type": "job", "uuid": job_id}
                )

    await in_batches([connect(n, c) for n, c in enumerate(clients)], 50)
    return clients


async def submit(session: aiohttp.ClientSession, base_url: str, job: dict[str, Any]) -> str:
    async with session.post(base_url + "/api/v3/jobs", json=job) as response:
        body = await response.json()
        assert response.status == 200, body
        return str(body["id"])


async def during(
    probe: SchedulingProbe, burst: Callable[[], Awaitable[None]]
) -> tuple[float, list[float]]:
    """Run the burst; return when it ended and scheduleTask's latencies meanwhile."""
    started = time.monotonic()
    await burst()
    burst_end = time.perf_counter()
    await asyncio.sleep(0.5)  # Keep measuring while the events go out.
    return burst_end, probe.latencies_since(started)


async def wait_until(condition: Callable[[], bool], since: float) -> float | None:
    deadline = since + 30
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter() - since
        await asyncio.sleep(0.02)
    return None


def report(label: str, lag: float | None, latencies: list[float]) -> None:
    if lag is None:
        print(f"  {label}: some clients were still behind after 30 s")
    else:
        print(f"  {label}: every client had the final state after {lag:.2f} s (target < 2 s)")
    report_latencies(latencies, "meanwhile", " (target p99 < 50 ms)")


async def run() -> None:
    async with (
        manager_process() as manager,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session,
    ):
        base_url = manager.base_url
        print(f"registering {WORKERS + 1} Workers ...", flush=True)
        auths = await in_batches(
            [register(session, base_url, f"bench-{n:04d}") for n in range(WORKERS + 1)], 50
        )
        scheduler_auth = auths[WORKERS]
        # The job the Workers report on: chunks of ten frames, ten steps per task.
        reported = render_job("reported", 2 * WORKERS * STEPS_PER_TASK)
        reported["settings"]["chunk_size"] = STEPS_PER_TASK
        reported_id = await submit(session, base_url, reported)
        big_id = await submit(session, base_url, render_job("big", BIG_JOB_TASKS))
        assigned = await in_batches([schedule(session, base_url, a) for a in auths[:WORKERS]], 50)
        tasks = [(auth, body["uuid"]) for auth, (_, body) in zip(auths, assigned, strict=False)]
        probe = SchedulingProbe(base_url, scheduler_auth)
        # The Workers and browsers would be on other machines: this process, which
        # plays all of them, gets only the CPU time the Manager leaves.
        os.setpriority(os.PRIO_PROCESS, 0, 10)

        print(f"connecting {CLIENTS} Socket.IO clients ...", flush=True)
        clients = await connect_clients(base_url, [reported_id, big_id])
        print("baseline: scheduleTask with all clients connected and no burst, 3 s ...")
        quiet_since = time.monotonic()
        await asyncio.sleep(3)
        report_latencies(probe.latencies_since(quiet_since), "without a burst")

        for status, label in (("cancel-requested", "canceled"), ("requeueing", "queued")):
            print(f"burst 1: {BIG_JOB_TASKS:,} tasks of a job go to {label} ...", flush=True)

            async def mass_update(status: str = status) -> None:
                async with session.post(
                    f"{base_url}/api/v3/jobs/{big_id}/setstatus",
                    json={"status": status, "reason": "benchmark"},
                ) as response:
                    assert response.status == 204, await response.text()

            end, latencies = await during(probe, mass_update)
            lag = await wait_until(
                lambda label=label: all(
                    c.jobs.get(big_id, {}).get("status") == label for c in clients
                ),
                end,
            )
            report(f"job {label}", lag, latencies)

        updates = WORKERS * STEPS_PER_TASK
        print(f"burst 2: {updates:,} progress reports from {WORKERS} Workers ...", flush=True)

        async def one_worker(auth: str, task_id: str) -> None:
            headers = {"Authorization": auth, "Content-Type": "application/json"}
            for step in range(1, STEPS_PER_TASK + 1):
                body = json.dumps({"steps_completed": step, "log": f"step {step}\n"})
                async with session.post(
                    f"{base_url}/api/v3/worker/task/{task_id}", data=body, headers=headers
                ) as response:
                    await response.read()

        started = time.perf_counter()

        async def progress() -> None:
            await asyncio.gather(*(one_worker(auth, task) for auth, task in tasks))

        end, latencies = await during(probe, progress)
        print(f"  the burst took {end - started:.1f} s ({updates / (end - started):,.0f}/s)")
        async with session.get(f"{base_url}/api/v3/jobs/{reported_id}") as response:
            final_steps = (await response.json())["steps_completed"]
        followed = {task for _, task in tasks}

        def caught_up() -> bool:
            for number, client in enumerate(clients):
                if client.jobs.get(reported_id, {}).get("steps_completed") != final_steps:
                    return False
                if number < FOLLOWING_THE_JOB and any(
                    client.task_steps.get(task) != STEPS_PER_TASK for task in followed
                ):
                    return False
            return True

        report("progress", await wait_until(caught_up, end), latencies)
        await asyncio.gather(*(c.sio.disconnect() for c in clients))
        probe.close()


def main() -> None:
    global FOLLOWING_THE_JOB, CLIENTS, PER_EVENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--followers",
        type=int,
        default=FOLLOWING_THE_JOB,
        help="clients that also follow the jobs' task updates (default %(default)s)",
    )
    parser.add_argument(
        "--clients", type=int, default=CLIENTS, help="Socket.IO clients (default %(default)s)"
    )
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="clients take one message per event, as upstream's web UI does",
    )
    arguments = parser.parse_args()
    FOLLOWING_THE_JOB, CLIENTS = arguments.followers, arguments.clients
    PER_EVENT = arguments.per_event
    asyncio.run(run())


if __name__ == "__main__":
    main()
