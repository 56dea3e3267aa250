"""Each class of hostile input, sent to every operation of our spec that takes it.

The fixes themselves have tests of their own; this one keeps a new operation from
slipping past them: deep JSON, overlong path components, overlong Worker secrets
and unauthenticated bodies must each get a 4xx Error body, never a 500.
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import yaml

from flamenco.api import SPEC_PATH
from flamenco.manager import config
from support.manager import RunningManager, run_manager
from support.worker_session import WorkerSession

METHODS = ("get", "post", "put", "delete", "patch")
# Deeper than Python's recursion limit lets a recursive parser or validator go.
DEEP_JSON = b"[" * 5000 + b"]" * 5000
# Over the 255 bytes a file name may have, and bcrypt's 72-byte password limit.
LONG_COMPONENT = "x" * 300
LONG_SECRET = "s" * 200
# Any platform name is fine: an unknown one gets the variables every platform has.
FREE_FORM_PATH_PARAMETERS = {"platform"}


@pytest.fixture
async def manager(
    make_manager_config: Callable[..., config.LoadedConfig],
) -> AsyncIterator[RunningManager]:
    """With Shaman on, so that its operations look at their input instead of answering 503."""
    async for running in run_manager(make_manager_config(shaman={"enabled": True})):
        yield running


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    body_types: tuple[str, ...]
    worker_auth: bool

    def url(self, base_url: str, **overrides: str) -> str:
        values = {name: overrides.get(name, example) for name, example in _path_examples()}
        return base_url + self.path.format(**values)


def _path_examples() -> Iterator[tuple[str, str]]:
    yield "task_id", str(uuid.uuid4())
    yield "job_id", str(uuid.uuid4())
    yield "worker_id", str(uuid.uuid4())
    yield "tag_id", str(uuid.uuid4())
    yield "typeName", "simple-blender-render"
    yield "audience", "workers"
    yield "platform", "linux"
    yield "checksum", "a" * 64
    yield "filesize", "10"
    yield "frame", "1"
    yield "token_id", "999999"
    yield "user_name", "nobody"


@functools.cache
def operations() -> tuple[Operation, ...]:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            spec = item[method]
            found.append(
                Operation(
                    operation_id=spec["operationId"],
                    method=method.upper(),
                    path=path,
                    body_types=tuple(spec.get("requestBody", {}).get("content", {})),
                    worker_auth=any("worker_auth" in s for s in spec.get("security", [])),
                )
            )
    return tuple(found)


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    auth: str | None = None,
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if body is not None else {}
    if auth is not None:
        headers["Authorization"] = auth
    async with session.request(method, url, data=body, headers=headers) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def assert_client_error(operation: Operation, status: int, body: Any, *allowed: int) -> None:
    where = f"{operation.operation_id} ({operation.method} {operation.path})"
    assert 400 <= status < 500, f"{where} answered {status}: {body!r}"
    if allowed:
        assert status in allowed, f"{where} answered {status}: {body!r}"
    assert isinstance(body, dict) and body.get("message"), f"{where} gave no Error body: {body!r}"


def basic_auth(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


async def registered_worker(manager: RunningManager) -> WorkerSession:
    worker = WorkerSession(manager.client)
    await worker.register()
    await worker.sign_on()
    return worker


async def test_deeply_nested_json_is_refused_by_every_operation(manager: RunningManager) -> None:
    worker = await registered_worker(manager)
    auth = basic_auth(worker.uuid, worker.secret)
    async with aiohttp.ClientSession() as session:
        for operation in operations():
            if "application/json" not in operation.body_types:
                continue
            status, body = await send(
                session,
                operation.method,
                operation.url(manager.base_url),
                body=DEEP_JSON,
                auth=auth if operation.worker_auth else None,
            )
            assert_client_error(operation, status, body, 400)


async def test_overlong_path_components_are_refused_by_every_operation(
    manager: RunningManager,
) -> None:
    worker = await registered_worker(manager)
    auth = basic_auth(worker.uuid, worker.secret)
    async with aiohttp.ClientSession() as session:
        for operation in operations():
            for name, _ in _path_examples():
                if name in FREE_FORM_PATH_PARAMETERS or "{" + name + "}" not in operation.path:
                    continue
                content_type = operation.body_types[0] if operation.body_types else ""
                status, body = await send(
                    session,
                    operation.method,
                    operation.url(manager.base_url, **{name: LONG_COMPONENT}),
                    body=b"{}" if content_type == "application/json" else None,
                    auth=auth if operation.worker_auth else None,
                )
                assert_client_error(operation, status, body)


async def test_overlong_worker_secrets_never_answer_500(manager: RunningManager) -> None:
    worker = await registered_worker(manager)
    async with aiohttp.ClientSession() as session:
        status, body = await send(
            session,
            "POST",
            f"{manager.base_url}/api/v3/worker/register-worker",
            body=json.dumps(
                {
                    "name": "long-secret",
                    "platform": "linux",
                    "secret": LONG_SECRET,
                    "supported_task_types": ["misc"],
                }
            ).encode(),
        )
        assert status < 500, f"registerWorker answered {status}: {body!r}"
        wrong = basic_auth(worker.uuid, LONG_SECRET)
        for operation in operations():
            if not operation.worker_auth:
                continue
            status, body = await send(
                session, operation.method, operation.url(manager.base_url), auth=wrong
            )
            assert_client_error(operation, status, body, 401, 403)


async def test_unauthenticated_bodies_are_refused_before_they_are_read(
    manager: RunningManager,
) -> None:
    async with aiohttp.ClientSession() as session:
        for operation in operations():
            if not operation.worker_auth or not operation.body_types:
                continue
            status, body = await send(
                session,
                operation.method,
                operation.url(manager.base_url),
                body=b"{not json",
                content_type=operation.body_types[0],
            )
            assert_client_error(operation, status, body, 401, 403)
