"""Live events over Socket.IO: rooms, subscriptions and every kind of event the web UI uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flamenco.manager import keys
from flamenco.manager.eventbus import topics
from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.eventbus.payloads import EventJobUpdate
from support.jobs import submit_echo_sleep
from support.manager import RunningManager
from support.socketio_listener import Listener
from support.worker_session import WorkerSession


@pytest.fixture(params=[False, True], ids=["per-event", "batched"])
async def listener(
    manager: RunningManager, request: pytest.FixtureRequest
) -> AsyncIterator[Listener]:
    listener = Listener(batched=request.param)
    await listener.connect(manager.base_url)
    yield listener
    await listener.client.disconnect()
    # Each client gets events in the form it asked for, never the other.
    if listener.batched:
        assert listener.single_events == 0
    else:
        assert listener.batches == 0


async def test_job_task_and_log_events(manager: RunningManager, listener: Listener) -> None:
    assert await listener.subscribe("allJobs") == "ok"
    job = await submit_echo_sleep(manager.client, repeats=1)
    new_job = await listener.wait_for("/jobs", lambda p: p["id"] == job["id"])
    assert new_job["status"] == "queued"
    assert "previous_status" not in new_job

    worker = WorkerSession(manager.client)
    await worker.start()
    task_events_before = len(listener.received.get("/task", []))
    assert await listener.subscribe("job", job["id"]) == "ok"
    task = await worker.next_task()
    assert await listener.subscribe("tasklog", task["uuid"]) == "ok"
    update = await listener.wait_for("/task", lambda p: p["id"] == task["uuid"])
    assert update["status"] == "active"
    assert update["worker"] == {"name": worker.name, "uuid": worker.uuid}
    assert len(listener.received["/task"]) > task_events_before

    await worker.update(task["uuid"], log="rendering frame 1\n")
    log = await listener.wait_for("/tasklog", lambda p: "rendering frame 1" in p["log"])
    assert log["task_id"] == task["uuid"]

    active = await listener.wait_for("/jobs", lambda p: p.get("status") == "active")
    assert active["previous_status"] == "queued"


async def test_task_events_need_a_job_subscription(
    manager: RunningManager, listener: Listener
) -> None:
    job = await submit_echo_sleep(manager.client, repeats=1)
    worker = WorkerSession(manager.client)
    await worker.start()
    await worker.next_task()
    await listener.subscribe("allWorkers")
    await listener.wait_for("/workers", lambda p: p["id"] == worker.uuid)
    assert "/task" not in listener.received
    assert "/jobs" not in listener.received
    assert await listener.subscribe("job", job["id"]) == "ok"
    assert await listener.subscribe("job", job["id"], op="unsubscribe") == "ok"


async def test_worker_and_tag_events(manager: RunningManager, listener: Listener) -> None:
    await listener.subscribe("allWorkers")
    await listener.subscribe("allWorkerTags")
    worker = WorkerSession(manager.client, name="node-7")
    await worker.start()
    awake = await listener.wait_for("/workers", lambda p: p["status"] == "awake")
    assert awake["name"] == "node-7"
    # Sign-on and its acknowledgement may arrive within one flush, merged into one event.
    assert awake["previous_status"] in {"offline", "starting"}
    tag = (
        await manager.client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    created = await listener.wait_for("/workertags", lambda p: p["tag"]["id"] == tag["id"])
    assert created == {"tag": {"id": tag["id"], "name": "gpu"}}
    await manager.client.delete(f"/api/v3/worker-mgt/tag/{tag['id']}", expect=204)
    await listener.wait_for("/workertags", lambda p: p.get("was_deleted") is True)


async def test_farm_status_is_pushed(manager: RunningManager, listener: Listener) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    status = await listener.wait_for("/status", lambda p: p["status"] == "idle")
    assert status == {"status": "idle"}


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"op": "subscribe", "type": "job", "uuid": "not-a-uuid"}, "valid UUID"),
        ({"op": "subscribe", "type": "everything"}, "unknown subscription type"),
        ({"op": "explode", "type": "allJobs"}, "operation"),
        ("just text", "expected an object"),
    ],
)
async def test_bad_subscriptions_are_refused(
    listener: Listener, message: Any, problem: str
) -> None:
    answer = await listener.client.call("/subscription", message, timeout=5)
    assert problem in answer


async def test_clients_hear_shutdown_and_are_disconnected(
    manager_config: object, tmp_path: object
) -> None:
    import time

    from support.manager_process import ManagerProcess

    process = ManagerProcess(tmp_path / "manager", tmp_path / "shared")  # type: ignore[operator]
    await process.start()
    listener = Listener(batched=True)
    await listener.connect(process.base_url)
    started = time.monotonic()
    code = await process.stop()
    assert code == 0
    assert time.monotonic() - started < 10
    lifecycle = await listener.wait_for("/lifecycle")
    assert lifecycle == {"type": "manager-shutdown"}
    await listener.client.disconnect()


async def test_batched_and_per_event_clients_hear_the_same_events(manager: RunningManager) -> None:
    batched, per_event = Listener(batched=True), Listener()
    for listener in (batched, per_event):
        await listener.connect(manager.base_url)
        assert await listener.subscribe("allJobs") == "ok"
    try:
        # Five events published at once are flushed together.
        job_ids = [str(uuid.uuid4()) for _ in range(5)]
        for job_id in job_ids:
            manager.app[keys.BROKER].publish(_deleted_job_event(job_id))
        for listener in (batched, per_event):
            for job_id in job_ids:
                await listener.wait_for("/jobs", lambda p, job_id=job_id: p["id"] == job_id)
        assert [p["id"] for p in batched.received["/jobs"]] == job_ids
        assert [p["id"] for p in per_event.received["/jobs"]] == job_ids
        # The batched client got them in one message, in order; the other in five.
        job_batches = [
            ids
            for contents in batched.batch_contents
            if (ids := [payload["id"] for name, payload in contents if name == "/jobs"])
        ]
        assert job_batches == [job_ids]
        assert per_event.single_events >= 5
    finally:
        for listener in (batched, per_event):
            await listener.client.disconnect()


def _deleted_job_event(job_id: str) -> Event:
    payload: EventJobUpdate = {
        "id": job_id,
        "name": "deleted job",
        "updated": "2026-01-02T03:04:05Z",
        "status": "completed",
        "type": "echo-sleep-test",
        "priority": 50,
        "refresh_tasks": False,
        "steps_completed": 1,
        "steps_total": 1,
        "was_deleted": True,
    }
    return Event(topics.JOBS, EventKind.JOB_UPDATE, payload)
