"""A Manager killed (SIGKILL) between a job completing and its webhook delivers after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from support.jobs import job_status, submit_echo_sleep
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.waiting import until
from support.webhook_receiver import WebhookReceiver, running_receiver
from support.worker_session import WorkerSession

pytestmark = pytest.mark.slow


async def test_delivery_survives_sigkill_between_event_and_delivery(
    tmp_path: Path, database_setting: str
) -> None:
    # The receiver holds the first attempt open: the event is committed, the delivery is not.
    async with running_receiver(WebhookReceiver(hang=True)) as receiver:
        settings = {
            "webhooks": [{"name": "pipeline", "url": receiver.url, "secret": "s3cret"}],
            "request_timeout": "1m0s",
            "retry_delay": "100ms",
            "poll_interval": "100ms",
        }
        manager = ManagerProcess(
            tmp_path / "manager",
            tmp_path / "shared",
            database=database_setting,
            notifications=json.dumps(settings),
        )
        await manager.start()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                client = SpecCheckedClient(session, manager.base_url)
                worker = WorkerSession(client)
                await worker.start()
                job = await submit_echo_sleep(client, name="crash test", repeats=1)
                for _ in range(2):
                    await worker.complete(await worker.next_task())
                assert await job_status(client, job["id"]) == "completed"
                await until(lambda: receiver.hanging == 1, timeout=10)

                await manager.kill()
                receiver.hang = False
                await until(lambda: len(receiver.abandoned) == 1, timeout=5)
                assert receiver.accepted == []

                await manager.start()
                await until(lambda: len(receiver.accepted) == 1, timeout=15)
                [delivered] = receiver.accepted
                payload = delivered.json()
                assert payload["event"] == "job-completed"
                assert payload["job"]["id"] == job["id"]
                # The same message as the one cut off, not a new one.
                [cut_off] = receiver.abandoned
                assert delivered.body == cut_off.body
                assert (
                    delivered.headers["X-Flamenco-Delivery"]
                    == cut_off.headers["X-Flamenco-Delivery"]
                )

                async def shows_delivered() -> bool:
                    reply = await client.get("/api/v3/notifications/deliveries", expect=200)
                    return [d["status"] for d in reply.json()["deliveries"]] == ["delivered"]

                # The receiver answers before the Manager records that it did.
                await until(shows_delivered, timeout=10)
        finally:
            if manager.process is not None:
                await manager.stop()
