"""Job dependencies across Manager processes on PostgreSQL: a job completed through one
process releases its dependent, submitted and scheduled through another."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from support.cluster import running_cluster
from support.jobs import job_status, submit_echo_sleep
from support.socketio_listener import Listener
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_dependency_completed_through_one_process_releases_a_job_of_another(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, 2) as cluster, aiohttp.ClientSession() as session:
        on_first, on_second = (SpecCheckedClient(session, url) for url in cluster.urls)
        listener = Listener(batched=True)
        await listener.connect(cluster.urls[1])
        try:
            assert await listener.subscribe("allJobs") == "ok"
            worker = WorkerSession(on_first)
            await worker.start()
            bake = await submit_echo_sleep(on_first, name="bake", repeats=0)
            render = await submit_echo_sleep(
                on_second, name="render", repeats=0, priority=90, depends_on=[bake["id"]]
            )
            task = await worker.next_task()
            assert task["job"] == bake["id"]
            other = WorkerSession(on_second, name="other")
            await other.start()
            await other.schedule(expect=204)  # The render waits, whichever process is asked.

            await worker.complete(task)
            # The render's update reaches a browser of the other process.
            await listener.wait_for(
                "/jobs", lambda p: p["id"] == bake["id"] and p["status"] == "completed"
            )
            updates = [p for p in listener.received.get("/jobs", []) if p["id"] == render["id"]]
            assert len(updates) >= 1
            released = (await on_second.get(f"/api/v3/jobs/{render['id']}", expect=200)).json()
            assert "All dependencies completed" in released["activity"]

            render_task = await other.next_task()
            assert render_task["job"] == render["id"]
            await other.complete(render_task)
            assert await job_status(on_first, render["id"]) == "completed"
        finally:
            await listener.client.disconnect()
