"""Helpers for notification tests: a job run to completion, and the outbox as the API shows it."""

from __future__ import annotations

import urllib.parse
from typing import Any

from support.jobs import job_status, submit_echo_sleep
from support.manager import RunningManager
from support.worker_session import WorkerSession


async def run_whole_job(running: RunningManager, **job: Any) -> dict[str, Any]:
    """Submit a two-task job and let a Worker complete it."""
    worker = WorkerSession(running.client)
    await worker.start()
    submitted = await submit_echo_sleep(running.client, repeats=1, **job)
    for _ in range(2):
        await worker.complete(await worker.next_task())
    assert await job_status(running.client, submitted["id"]) == "completed"
    return submitted


async def deliveries(running: RunningManager, **query: Any) -> list[dict[str, Any]]:
    """The recent deliveries, newest first, from fetchNotificationDeliveries."""
    suffix = "?" + urllib.parse.urlencode(query) if query else ""
    reply = await running.client.get(f"/api/v3/notifications/deliveries{suffix}", expect=200)
    listed: list[dict[str, Any]] = reply.json()["deliveries"]
    return listed
