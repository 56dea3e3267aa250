"""Benchmark of live events: 500 Socket.IO clients and a burst of 10,000 task updates.

Run with `python benchmarks/bench_events.py`. A Manager runs in its own process;
500 Socket.IO clients subscribe to all jobs (as open web interfaces do) and 50 of
them also follow the job being rendered. 1,000 simulated Workers then send
10,000 task updates as fast as they can, while one more Worker keeps asking for
tasks. Printed: how long after the last update every client had the final state
(target under 2 s) and scheduleTask's latency during the burst (target p99 under
50 ms).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import aiohttp
import socketio

from loadgen import in_batches, manager_process, percentile, register, render_job, schedule

CLIENTS = 500
FOLLOWING_THE_JOB = 50
WORKERS = 1000
UPDATES = 10_000
STEPS_PER_TASK = UPDATES // WORKERS


class Client:
    """A Socket.IO client that remembers the newest state it heard of every task and job."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.task_steps: dict[str, int] = {}
        self.job_steps: dict[str, int] = {}
        self.sio.on("/task", self._on_task)
        self.sio.on("/jobs", self._on_job)

    async def _on_task(self, payload: dict[str, Any]) -> None:
        self.task_steps[payload["id"]] = payload["steps_completed"]

    async def _on_job(self, payload: dict[str, Any]) -> None:
        if "steps_completed" in payload:
            self.job_steps[payload["id"]] = payload["steps_completed"]


async def connect_clients(base_url: str, job_id: str) -> list[Client]:
    clients = [Client() for _ in range(CLIENTS)]

    async def connect(number: int, client: Client) -> None:
        await client.sio.connect(base_url, transports=["websocket"])
        await client.sio.call("/subscription", {"op": "subscribe", "type": "allJobs"})
        if number < FOLLOWING_THE_JOB:
            await client.sio.call(
                "/subscription", {"op": "subscribe", "type": "job", "uuid": job_id}
            )

    await in_batches([connect(n, c) for n, c in enumerate(clients)], 50)
    return clients


async def run() -> None:
    async with (
        manager_process() as manager,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session,
    ):
        base_url = manager.base_url
        print(f"registering {WORKERS + 1} Workers and giving each a task ...", flush=True)
        auths = await in_batches(
            [register(session, base_url, f"bench-{n:04d}") for n in range(WORKERS + 1)], 50
        )
        job = render_job("burst", 2 * WORKERS)
        job["settings"]["chunk_size"] = 1
        async with session.post(base_url + "/api/v3/jobs", json=job) as response:
            job_id = (await response.json())["id"]
        assigned = await in_batches([schedule(session, base_url, a) for a in auths[:WORKERS]], 50)
        tasks = [(auth, body["uuid"]) for auth, (_, body) in zip(auths, assigned, strict=False)]
        scheduler_auth = auths[WORKERS]

        print(f"connecting {CLIENTS} Socket.IO clients ...", flush=True)
        clients = await connect_clients(base_url, job_id)

        schedule_latencies: list[float] = []
        burst_done = asyncio.Event()

        async def keep_scheduling() -> None:
            while not burst_done.is_set():
                duration, body = await schedule(session, base_url, scheduler_auth)
                schedule_latencies.append(duration)
                # Hand the task straight back, so the next call schedules again.
                async with session.post(
                    f"{base_url}/api/v3/worker/task/{body['uuid']}",
                    json={"taskStatus": "queued"},
                    headers={"Authorization": scheduler_auth},
                ) as response:
                    await response.read()
                await asyncio.sleep(0.05)

        async def one_worker(auth: str, task_id: str) -> None:
            headers = {"Authorization": auth, "Content-Type": "application/json"}
            for step in range(1, STEPS_PER_TASK + 1):
                body = json.dumps({"steps_completed": step, "log": f"step {step}\n"})
                async with session.post(
                    f"{base_url}/api/v3/worker/task/{task_id}", data=body, headers=headers
                ) as response:
                    await response.read()

        print(f"burst of {UPDATES:,} task updates from {WORKERS} Workers ...", flush=True)
        scheduler = asyncio.create_task(keep_scheduling())
        started = time.perf_counter()
        await asyncio.gather(*(one_worker(auth, task) for auth, task in tasks))
        burst_end = time.perf_counter()
        burst_done.set()
        await scheduler
        seconds = burst_end - started
        print(f"  the burst took {seconds:.1f} s ({UPDATES / seconds:,.0f} updates/s)")

        final_task_steps = {task: STEPS_PER_TASK for _, task in tasks}
        async with session.get(f"{base_url}/api/v3/jobs/{job_id}") as response:
            final_job_steps = (await response.json())["steps_completed"]

        def caught_up(number: int, client: Client) -> bool:
            if client.job_steps.get(job_id) != final_job_steps:
                return False
            if number < FOLLOWING_THE_JOB:
                return all(client.task_steps.get(t) == s for t, s in final_task_steps.items())
            return True

        lag = None
        deadline = burst_end + 30
        while time.perf_counter() < deadline:
            if all(caught_up(n, c) for n, c in enumerate(clients)):
                lag = time.perf_counter() - burst_end
                break
            await asyncio.sleep(0.05)
        if lag is None:
            behind = sum(not caught_up(n, c) for n, c in enumerate(clients))
            print(f"  {behind} of {CLIENTS} clients still behind after 30 s")
        else:
            print(f"  every client had the final state {lag:.2f} s after the last update")
            print("  (target < 2 s)")
        print(
            f"  scheduleTask during the burst: {len(schedule_latencies)} calls, p50"
            f" {statistics.median(schedule_latencies) * 1000:.1f} ms, p99"
            f" {percentile(schedule_latencies, 0.99) * 1000:.1f} ms (target p99 < 50 ms)"
        )
        await asyncio.gather(*(c.sio.disconnect() for c in clients))


if __name__ == "__main__":
    asyncio.run(run())
