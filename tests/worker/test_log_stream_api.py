"""The Manager's log streaming extension, over real HTTP and a real WebSocket."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from support.worker_session import WorkerSession

STREAM = "/api/v3/worker/task-log-stream"


def auth_header(worker: WorkerSession) -> dict[str, str]:
    pair = f"{worker.uuid}:{worker.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def assigned_task(manager: Any, worker: WorkerSession) -> dict[str, Any]:
    job = {
        "name": "stream test",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }
    await manager.client.post("/api/v3/jobs", json_body=job, expect=200)
    return await worker.next_task()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def test_spec_lists_the_extension(manager: Any) -> None:
    spec = (await manager.client.get("/api/v3/openapi3.json", expect=200)).json()
    operation = spec["paths"][STREAM]["get"]
    assert operation["operationId"] == "streamTaskLogs"
    assert operation["security"] == [{"worker_auth": []}]


async def test_chunks_are_stored_and_acknowledged_in_order(
    manager: Any, session: aiohttp.ClientSession
) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    task = await assigned_task(manager, worker)
    async with session.ws_connect(manager.base_url + STREAM, headers=auth_header(worker)) as ws:
        for seq, text in enumerate(["first line\n", "second line\nthird line\n"], start=1):
            await ws.send_str(json.dumps({"seq": seq, "task_id": task["uuid"], "log": text}))
        assert await ws.receive_json() == {"ack": 1}
        assert await ws.receive_json() == {"ack": 2}
    tail = await manager.client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)
    assert "first line\nsecond line\nthird line\n" in tail.text


async def test_refused_chunks_get_error_frames(
    manager: Any, session: aiohttp.ClientSession
) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    task = await assigned_task(manager, worker)
    other = WorkerSession(manager.client, name="other")
    await other.start()
    async with session.ws_connect(manager.base_url + STREAM, headers=auth_header(other)) as ws:
        await ws.send_str(json.dumps({"seq": 7, "task_id": task["uuid"], "log": "not mine"}))
        refused = await ws.receive_json()
        assert refused["seq"] == 7
        assert refused["error"]["code"] == 409

        unknown = "00000000-0000-4000-8000-000000000000"
        await ws.send_str(json.dumps({"seq": 8, "task_id": unknown, "log": "x"}))
        assert (await ws.receive_json())["error"]["code"] == 404

        await ws.send_str(json.dumps({"seq": 9, "task_id": "not-a-uuid", "log": "x"}))
        assert await ws.receive_json() == {
            "seq": 9,
            "error": {"code": 400, "message": "\"task_id\" is not a UUID: 'not-a-uuid'"},
        }

        await ws.send_str("{not json")
        malformed = await ws.receive_json()
        assert "seq" not in malformed
        assert malformed["error"]["code"] == 400

        await ws.send_bytes(b"binary")
        assert (await ws.receive_json())["error"]["code"] == 400
    tail = await manager.client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)
    assert "not mine" not in tail.text


async def test_needs_worker_credentials(manager: Any, session: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(manager.base_url + STREAM)
    assert refused.value.status == 403
    bad = {"Authorization": "Basic " + base64.b64encode(b"nobody:nothing").decode()}
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(manager.base_url + STREAM, headers=bad)


async def test_plain_request_is_told_to_upgrade(manager: Any) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    reply = await manager.client.get(STREAM, auth=worker.auth, expect=400, check_spec=False)
    assert "WebSocket" in reply.json()["message"]
