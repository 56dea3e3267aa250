"""kill -9 at any moment loses no change the Manager acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess
from support.spec_client import basic_auth_header

pytestmark = pytest.mark.slow

ROUNDS = 4


@dataclasses.dataclass
class Acknowledged:
    """Every change the Manager answered with success, across all rounds."""

    jobs: dict[str, str] = dataclasses.field(default_factory=dict)
    canceled: set[str] = dataclasses.field(default_factory=set)
    completed: dict[str, str] = dataclasses.field(default_factory=dict)  # task -> job

    def count(self) -> int:
        return len(self.jobs) + len(self.canceled) + len(self.completed)


def _job(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": name, "sleep_duration_seconds": 1, "sleep_repeats": 2},
        "metadata": {},
    }


async def _drive(
    session: aiohttp.ClientSession,
    base: str,
    worker: dict[str, str],
    acknowledged: Acknowledged,
    round_number: int,
) -> None:
    """Submit jobs, cancel some, and run tasks as a Worker, until the Manager dies."""
    number = 0
    while True:
        number += 1
        name = f"round {round_number} job {number}"
        async with session.post(f"{base}/api/v3/jobs", json=_job(name)) as reply:
            if reply.status == 200:
                acknowledged.jobs[(await reply.json())["id"]] = name
        if number % 3 == 0:
            job_id = next(reversed(acknowledged.jobs))
            async with session.post(
                f"{base}/api/v3/jobs/{job_id}/setstatus",
                json={"status": "cancel-requested", "reason": "changed my mind"},
            ) as reply:
                if reply.status == 204:
                    acknowledged.canceled.add(job_id)
        async with session.post(f"{base}/api/v3/worker/task", headers=worker) as reply:
            if reply.status != 200:
                continue
            task = await reply.json()
        for status in ("active", "completed"):
            async with session.post(
                f"{base}/api/v3/worker/task/{task['uuid']}",
                json={
                    "taskStatus": status,
                    "activity": status,
                    "log": f"{status} {task['uuid']}\n",
                },
                headers=worker,
            ) as reply:
                if reply.status != 204:
                    break
        else:
            acknowledged.completed[task["uuid"]] = task["job"]


async def _register_worker(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    secret = secrets.token_hex(16)
    async with session.post(
        f"{base}/api/v3/worker/register-worker",
        json={
            "name": "crash-test",
            "platform": "linux",
            "secret": secret,
            "supported_task_types": ["misc", "blender", "ffmpeg", "file-management"],
        },
    ) as reply:
        assert reply.status == 200
        auth = {"Authorization": basic_auth_header((await reply.json())["uuid"], secret)}
    return auth


async def _sign_on(session: aiohttp.ClientSession, base: str, auth: dict[str, str]) -> None:
    async with session.post(
        f"{base}/api/v3/worker/sign-on",
        json={
            "name": "crash-test",
            "software_version": "3.9-test",
            "supported_task_types": ["misc", "blender", "ffmpeg", "file-management"],
        },
        headers=auth,
    ) as reply:
        assert reply.status == 200
    async with session.post(
        f"{base}/api/v3/worker/state-changed", json={"status": "awake"}, headers=auth
    ) as reply:
        assert reply.status == 204


async def _verify(session: aiohttp.ClientSession, base: str, acknowledged: Acknowledged) -> None:
    for job_id, name in acknowledged.jobs.items():
        async with session.get(f"{base}/api/v3/jobs/{job_id}") as reply:
            assert reply.status == 200, f"acknowledged job {name} is gone"
            job = await reply.json()
        assert job["name"] == name
        if job_id in acknowledged.canceled:
            assert job["status"] in {"cancel-requested", "canceled"}, (name, job["status"])
    for task_id, job_id in acknowledged.completed.items():
        if job_id in acknowledged.canceled:
            continue  # Canceling may have overtaken the Worker's report.
        async with session.get(f"{base}/api/v3/tasks/{task_id}") as reply:
            assert reply.status == 200
            task = await reply.json()
        assert task["status"] == "completed", f"acknowledged completion of {task['name']} lost"
        async with session.get(f"{base}/api/v3/tasks/{task_id}/logtail") as reply:
            assert f"completed {task_id}" in await reply.text(), "acknowledged log text lost"


async def test_sigkill_at_random_moments_loses_no_acknowledged_change(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    chance = random.Random(seed)
    print(f"random seed: {seed}")
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
    acknowledged = Acknowledged()
    await manager.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            worker = await _register_worker(session, manager.base_url)
            for round_number in range(ROUNDS):
                await _sign_on(session, manager.base_url, worker)
                before = acknowledged.count()
                driver = asyncio.create_task(
                    _drive(session, manager.base_url, worker, acknowledged, round_number)
                )
                await asyncio.sleep(chance.uniform(0.5, 2.0))
                await manager.kill()
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    await driver
                assert acknowledged.count() > before, "the Manager was killed mid-work"
                await manager.start()
                await _verify(session, manager.base_url, acknowledged)
    finally:
        if manager.process is not None:
            await manager.stop()
    assert acknowledged.jobs and acknowledged.canceled and acknowledged.completed
