"""Every kind of event the Manager publishes matches its Event* schema in the spec."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from flamenco.manager.eventbus.broker import EventKind
from support.event_checks import SCHEMA_OF_KIND, EventChecker
from support.jobs import submit_echo_sleep
from support.manager import RunningManager
from support.worker_session import WorkerSession


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 200, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def _until_seen(events: EventChecker, kind: EventKind) -> None:
    async with asyncio.timeout(10):
        while kind not in events.seen:
            await asyncio.sleep(0.02)


async def test_a_farms_day_publishes_every_kind_of_event_and_each_matches_the_spec(
    manager: RunningManager,
) -> None:
    client = manager.client
    tag = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.update(task["uuid"], activity="rendering", log="frame 1 done\n", steps_completed=1)
    await client.post(
        f"/api/v3/worker/task/{task['uuid']}/output-produced",
        data=_png(),
        headers={"Content-Type": "image/png"},
        auth=worker.auth,
        expect=202,
    )
    await _until_seen(manager.events, EventKind.LAST_RENDERED_UPDATE)
    await worker.complete(task)
    await client.delete(f"/api/v3/worker-mgt/tag/{tag['id']}", expect=204)
    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)
    async with asyncio.timeout(10):
        while (await client.get(f"/api/v3/jobs/{job['id']}")).status != 404:
            await asyncio.sleep(0.05)
    await worker.sign_off()
    await _until_seen(manager.events, EventKind.FARM_STATUS)

    assert set(manager.events.seen) == set(SCHEMA_OF_KIND)
    manager.events.assert_valid()


def test_the_checker_catches_a_payload_that_breaks_the_spec() -> None:
    from flamenco.manager.eventbus import topics
    from flamenco.manager.eventbus.broker import Event

    checker = EventChecker()
    checker(Event(topics.JOBS, EventKind.JOB_UPDATE, {"id": "x", "was_deleted": True}))  # type: ignore[typeddict-item]
    assert checker.violations
