"""The role table: every operation of the spec has a role, and each role is enforced over HTTP."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest

from conftest import ConfigMaker
from flamenco.api import SPEC_PATH
from flamenco.manager.access import roles
from flamenco.manager.access.roles import Ownership, Requirement, Role
from flamenco.manager.api.openapi import Operation, load_spec
from support.access import ENROLMENT_SECRET, api_token, bearer, tokens_by_role
from support.manager import RunningManager, run_manager
from support.spec_client import basic_auth_header
from support.worker_session import WorkerSession

OPERATIONS = sorted(load_spec(SPEC_PATH).operations.values(), key=lambda op: op.operation_id)
# Destructive ones last, so that the others still find the test job.
LAST = ("deleteJob",)


def test_every_operation_in_the_spec_has_a_role() -> None:
    """Classify a new operation with one line in flamenco/manager/access/roles.py REQUIREMENTS."""
    in_spec = {operation.operation_id for operation in OPERATIONS}
    unclassified = sorted(in_spec - set(roles.REQUIREMENTS))
    assert not unclassified, (
        f"operations without a role in access/roles.py REQUIREMENTS: {unclassified}"
    )
    assert not set(roles.REQUIREMENTS) - in_spec, "REQUIREMENTS names operations the spec lacks"


def test_unclassified_operations_fail_closed() -> None:
    assert roles.requirement_for_operation("someNewOperation") == roles.ADMIN


@pytest.fixture
async def guarded(make_manager_config: ConfigMaker) -> AsyncIterator[RunningManager]:
    loaded = make_manager_config(access_control=True, worker_enrolment_secret=ENROLMENT_SECRET)
    async for running in run_manager(loaded):
        yield running


def _wrong(requirement: Requirement) -> str | None:
    """Credentials that are valid but not enough for the requirement; None when all suffice."""
    if requirement.role is None:
        return Role.ADMIN  # Worker operations take no person's token.
    if requirement.role is Role.VIEWER:
        if not requirement.workers:
            return "worker"
        if not requirement.enrolment:
            return "enrolment"
        return None
    ranked = list(Role)
    return ranked[ranked.index(requirement.role) - 1]


def _right(requirement: Requirement) -> str:
    if requirement.role is None:
        return "worker"
    if requirement.own is not Ownership.NONE:
        return "owner"
    return requirement.role


def _request_for(operation: Operation, values: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    """A request that passes the access check and then fails validation, changing nothing."""
    path = re.sub(
        r"\{(\w+)\}", lambda match: values.get(match.group(1), str(uuid.uuid4())), operation.path
    )
    headers: dict[str, str] = {}
    body = b""
    if operation.json_body is not None:
        headers["Content-Type"] = "application/json"
        body = b"{this is not JSON"
    elif operation.raw_content_types:
        headers["Content-Type"] = sorted(operation.raw_content_types)[0]
        body = b"x"
    return path, headers, body


async def test_each_operation_needs_its_role(guarded: RunningManager) -> None:
    client = guarded.client
    by_role = await tokens_by_role(guarded.app)
    owner = await api_token(guarded.app, "alice", Role.ARTIST)
    other_artist = await api_token(guarded.app, "bob", Role.ARTIST)
    job = await _submit(guarded, owner)
    tasks = await client.get(
        f"/api/v3/jobs/{job}/tasks", headers=bearer(by_role[Role.VIEWER]), expect=200
    )
    worker = WorkerSession(client)
    await worker.register(headers=bearer(ENROLMENT_SECRET))
    credentials: dict[str, dict[str, str]] = {
        **{str(role): bearer(token) for role, token in by_role.items()},
        "owner": bearer(owner),
        "worker": {"Authorization": basic_auth_header(*worker.auth)},
        "enrolment": bearer(ENROLMENT_SECRET),
    }
    values = {
        "job_id": job,
        "task_id": tasks.json()["tasks"][0]["id"],
        "typeName": "echo-sleep-test",
        "audience": "workers",
        "platform": "linux",
        "checksum": "a" * 64,
        "filesize": "1",
        "token_id": "999999",
        "user_name": "nobody",
    }
    ordered = sorted(OPERATIONS, key=lambda op: op.operation_id in LAST)
    for operation in ordered:
        requirement = roles.requirement_for_operation(operation.operation_id)
        path, headers, body = _request_for(operation, values)
        name = f"{operation.operation_id} ({requirement.describe()})"

        async def call(
            extra: dict[str, str],
            method: str = operation.method.upper(),
            path: str = path,
            body: bytes = body,
            headers: dict[str, str] = headers,
        ) -> int:
            reply = await client.request(
                method, path, data=body or None, headers={**headers, **extra}
            )
            return reply.status

        if requirement.public:
            assert await call({}) not in (401, 403), f"{name} without credentials"
            continue
        assert await call({}) == 401, f"{name} without credentials"
        assert await call(bearer("flamenco_not-a-token")) == 401, f"{name} with a bad token"
        wrong = _wrong(requirement)
        if wrong is not None:
            assert await call(credentials[str(wrong)]) == 403, f"{name} as {wrong}"
        if requirement.own is not Ownership.NONE:
            assert await call(bearer(other_artist)) == 403, f"{name} on another artist's job"
        right = _right(requirement)
        status = await call(credentials[str(right)])
        assert status not in (401, 403), f"{name} as {right}: {status}"


async def _submit(manager: RunningManager, token: str) -> str:
    reply = await manager.client.post(
        "/api/v3/jobs",
        json_body={
            "name": "owned job",
            "type": "echo-sleep-test",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
            "metadata": {},
        },
        headers=bearer(token),
        expect=200,
    )
    return str(reply.json()["id"])


# Reading what only administrators may change is theirs too; Shaman's file check is
# part of uploading job files, an artist's.
NOT_FOR_VIEWERS = {
    "getConfigurationFile",
    "findBlenderExePath",
    "fetchAccessTokens",
    "fetchUsers",
    "fetchAuditLog",
    "shamanFileStoreCheck",
}


def test_viewers_read_everything_the_web_interface_shows() -> None:
    for operation in OPERATIONS:
        if operation.method.lower() != "get" or operation.needs_worker_auth:
            continue
        if operation.operation_id in NOT_FOR_VIEWERS:
            continue
        requirement = roles.requirement_for_operation(operation.operation_id)
        if requirement.public:
            continue  # Open to everyone, viewers included (the login page's own calls).
        assert requirement.role is Role.VIEWER, operation.operation_id
