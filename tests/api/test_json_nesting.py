"""JSON that Python cannot parse (nested too deep, too many digits) is a 400, never a 500."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from flamenco.manager import keys
from flamenco.manager.api.json_input import MAX_DEPTH
from support.manager import RunningManager
from support.spec_client import basic_auth_header
from support.worker_session import WorkerSession

SOME_UUID = "6f3cbc5b-ffc4-4a4a-8a71-6c6d55a8d5b1"
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def nested(levels: int, inner: str = "") -> str:
    return "[" * levels + inner + "]" * levels


def job_with_settings(deep_setting: str) -> bytes:
    """A job submission whose setting `deep` is the JSON text given, verbatim."""
    job = {
        "name": "deep",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1, "deep": 0},
    }
    return json.dumps(job).replace('"deep": 0', f'"deep": {deep_setting}').encode()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def test_every_json_body_refuses_deep_nesting(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    operations = [
        operation
        for operation in manager.app[keys.SPEC].operations.values()
        if operation.json_body is not None
    ]
    assert len(operations) > 20
    for operation in operations:
        path = re.sub(r"\{[^}]+\}", SOME_UUID, operation.path)
        # Just too deep; what took Python's parser past its recursion limit; far beyond.
        for levels in (MAX_DEPTH + 1, 1000, 100_000):
            reply = await manager.client.request(
                operation.method,
                path,
                data=nested(levels).encode(),
                headers={"Content-Type": "application/json"},
                auth=worker.auth if operation.needs_worker_auth else None,
                expect=400,
            )
            assert TOO_DEEP in reply.json()["message"], (operation.operation_id, levels)


async def test_nesting_inside_free_form_settings(manager: RunningManager) -> None:
    headers = {"Content-Type": "application/json"}
    # The body and `settings` are two levels; the setting itself makes up the rest.
    at_limit = nested(MAX_DEPTH - 2, '"bottom"')
    reply = await manager.client.post(
        "/api/v3/jobs", data=job_with_settings(at_limit), headers=headers, expect=200
    )
    job = (await manager.client.get(f"/api/v3/jobs/{reply.json()['id']}", expect=200)).json()
    assert job["settings"]["deep"] == json.loads(at_limit)

    for levels in (MAX_DEPTH - 1, 1000):
        reply = await manager.client.post(
            "/api/v3/jobs", data=job_with_settings(nested(levels)), headers=headers, expect=400
        )
        assert reply.json()["message"] == f"request body is {TOO_DEEP}"


async def test_numbers_too_long_for_python_are_400(manager: RunningManager) -> None:
    # Python refuses to convert integers of more than 4,300 digits (CVE-2020-10735).
    reply = await manager.client.post(
        "/api/v3/jobs",
        data=job_with_settings("9" * 5000),
        headers={"Content-Type": "application/json"},
        expect=400,
    )
    assert "request body is not valid JSON: Exceeds the limit" in reply.json()["message"]


async def test_brackets_inside_strings_are_not_nesting(manager: RunningManager) -> None:
    # Escaped quotes and backslashes must not make the string end early either.
    text = '\\\\\\"' + "[{" * 1000
    reply = await manager.client.post(
        "/api/v3/jobs",
        data=job_with_settings(f'"{text}"'),
        headers={"Content-Type": "application/json"},
        expect=200,
    )
    assert reply.json()["settings"]["deep"] == json.loads(f'"{text}"')


async def test_websocket_frames_refuse_deep_nesting(
    manager: RunningManager, session: aiohttp.ClientSession
) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    headers = {"Authorization": basic_auth_header(*worker.auth)}
    for path in ("/api/v3/worker/task-log-stream", "/api/v3/worker/work-notices"):
        async with session.ws_connect(manager.base_url + path, headers=headers) as ws:
            # Frames have a size limit of their own, so no deeper than this.
            for levels in (MAX_DEPTH + 1, 1000):
                await ws.send_str(nested(levels))
                refused: dict[str, Any] = await ws.receive_json(timeout=10)
                assert refused["error"] == {"code": 400, "message": f"frame is {TOO_DEEP}"}
