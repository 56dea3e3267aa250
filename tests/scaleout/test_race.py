"""500 Workers race for 10,000 tasks through 4 Manager processes: each task runs exactly once."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.cluster import running_cluster
from support.jobs import blender_render_job
from support.spec_client import basic_auth_header

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PROCESSES = 4
WORKERS = 500
FRAMES = 9_999  # one render task per frame, and one task that makes the video


class SimulatedWorker:
    """A Worker that asks any process for a task and reports it done to any process."""

    def __init__(self, session: aiohttp.ClientSession, urls: list[str], number: int) -> None:
        self.session = session
        self.urls = urls
        self.name = f"racer-{number}"
        self.secret = secrets.token_hex(16)
        self.headers: dict[str, str] = {}
        self.busy_answers = 0

    def url(self) -> str:
        return random.choice(self.urls)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; 503 (a race lost, the database busy) is retried, as real Workers do."""
        while True:
            async with self.session.request(
                method, self.url() + path, json=body, headers=self.headers
            ) as response:
                if response.status == 503:
                    self.busy_answers += 1
                    await asyncio.sleep(0.05)
                    continue
                assert response.status in (200, 204), (path, response.status, await response.text())
                return await response.json() if response.status == 200 else None

    async def start(self) -> None:
        registered = await self.call(
            "POST",
            "/api/v3/worker/register-worker",
            {
                "name": self.name,
                "platform": "linux",
                "secret": self.secret,
                "supported_task_types": ["blender", "ffmpeg", "misc", "file-management"],
            },
        )
        self.headers = {"Authorization": basic_auth_header(registered["uuid"], self.secret)}
        await self.call(
            "POST",
            "/api/v3/worker/sign-on",
            {
                "name": self.name,
                "supported_task_types": ["blender", "ffmpeg", "misc", "file-management"],
                "software_version": "3.9-race",
            },
        )
        await self.call("POST", "/api/v3/worker/state-changed", {"status": "awake"})

    async def race(
        self, assigned: Counter[str], completed: Counter[str], finished: asyncio.Event
    ) -> None:
        while not finished.is_set():
            task = await self.call("POST", "/api/v3/worker/task")
            if task is None:
                await asyncio.sleep(random.uniform(0.05, 0.2))
                continue
            assigned[task["uuid"]] += 1
            await self.call(
                "POST", f"/api/v3/worker/task/{task['uuid']}", {"taskStatus": "completed"}
            )
            completed[task["uuid"]] += 1


async def test_each_task_is_run_exactly_once_and_the_counters_add_up(tmp_path: Path) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        running_cluster(tmp_path, PROCESSES) as cluster,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        urls = cluster.urls
        workers = [SimulatedWorker(session, urls, number) for number in range(WORKERS)]
        for start in range(0, WORKERS, 50):
            await asyncio.gather(*(worker.start() for worker in workers[start : start + 50]))
        async with session.post(
            urls[0] + "/api/v3/jobs",
            json=blender_render_job(name="the race", frames=f"1-{FRAMES}", chunk_size=1),
        ) as response:
            assert response.status == 200, await response.text()
            job = await response.json()

        assigned: Counter[str] = Counter()
        completed: Counter[str] = Counter()
        finished = asyncio.Event()

        async def watch_the_job() -> None:
            while True:
                async with session.get(f"{urls[-1]}/api/v3/jobs/{job['id']}") as response:
                    if (await response.json())["status"] == "completed":
                        finished.set()
                        return
                await asyncio.sleep(1.0)

        watcher = asyncio.create_task(watch_the_job())
        await asyncio.gather(*(worker.race(assigned, completed, finished) for worker in workers))
        await watcher

        async with session.get(f"{urls[1]}/api/v3/jobs/{job['id']}/tasks") as response:
            tasks = (await response.json())["tasks"]
        async with session.get(f"{urls[2]}/api/v3/jobs/{job['id']}") as response:
            final = await response.json()

    assert len(tasks) == FRAMES + 1
    assert {task["status"] for task in tasks} == {"completed"}
    assert set(assigned) == {task["id"] for task in tasks}
    twice = [uuid for uuid, count in assigned.items() if count != 1]
    assert not twice, f"{len(twice)} tasks were handed out more than once"
    assert all(count == 1 for count in completed.values())
    assert final["status"] == "completed"
    assert final["steps_completed"] == final["steps_total"] > 0
