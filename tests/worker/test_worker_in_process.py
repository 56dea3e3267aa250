"""A real Worker against a real Manager on loopback, in the test's event loop, with short waits."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flamenco.worker import config
from flamenco.worker.client import ManagerClient
from flamenco.worker.states import Timings
from flamenco.worker.worker import Worker, WorkerOptions

FAST = Timings(first_fetch=0.05, no_task=0.2, fetch_failed=0.5, after_task=0.05, may_keep_running=0.5)


async def submit(client: Any, job_type: str, settings: dict[str, Any]) -> dict[str, Any]:
    job = {
        "name": f"{job_type} test",
        "type": job_type,
        "priority": 50,
        "submitter_platform": "linux",
        "settings": settings,
        "metadata": {},
    }
    reply = await client.post("/api/v3/jobs", json_body=job, expect=200)
    submitted: dict[str, Any] = reply.json()
    return submitted


async def wait_for_job(client: Any, job_id: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await client.get(f"/api/v3/jobs/{job_id}", expect=200)).json()
        if job["status"] == status:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {job['status']}, not {status}")
        await asyncio.sleep(0.1)


async def task_log(client: Any, task_id: str) -> str:
    info = await client.get(f"/api/v3/tasks/{task_id}/log")
    if info.status == 204:
        return ""
    reply = await client.get(info.json()["url"], expect=200)
    return str(reply.text)


class RunningWorker:
    def __init__(self, worker: Worker, task: asyncio.Task[int]) -> None:
        self.worker = worker
        self.task = task

    async def stop(self) -> int:
        self.worker.request_stop()
        return await asyncio.wait_for(self.task, 30)


@pytest.fixture
def start_worker(manager: Any, tmp_path: Path) -> Any:
    running: list[RunningWorker] = []

    async def start(*, streaming: bool = True, name: str = "in-process") -> RunningWorker:
        cfg = config.WorkerConfig(worker_name=name, manager_url=manager.base_url)
        worker = Worker(
            WorkerOptions(
                config=cfg, home=tmp_path / f"home-{name}", timings=FAST, handle_signals=False
            )
        )
        if not streaming:
            async def no_stream(self: ManagerClient) -> bool:
                return False

            pytest.MonkeyPatch().setattr(ManagerClient, "offers_log_stream", no_stream)
        handle = RunningWorker(worker, asyncio.create_task(worker.run()))
        running.append(handle)
        return handle

    return start


@pytest.fixture(autouse=True)
async def _stop_workers(start_worker: Any) -> AsyncIterator[None]:
    yield


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "batched"])
async def test_echo_sleep_job_completes(manager: Any, start_worker: Any, streaming: bool) -> None:
    job = await submit(
        manager.client,
        "echo-sleep-test",
        {"message": "hello from the test", "sleep_duration_seconds": 1, "sleep_repeats": 1},
    )
    running = await start_worker(streaming=streaming)
    try:
        done = await wait_for_job(manager.client, job["id"], "completed")
    finally:
        assert await running.stop() == 1
    assert done["steps_completed"] == done["steps_total"]
    tasks = (await manager.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
    logs = {task["name"]: await task_log(manager.client, task["id"]) for task in tasks["tasks"]}
    assert 'echo: "hello from the test"' in logs["echo"]
    assert "slept 1s" in logs["sleep"]
    worker = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert [w["status"] for w in worker["workers"]] == ["offline"]


async def test_unknown_command_fails_task(manager: Any, start_worker: Any) -> None:
    assert sys.executable
