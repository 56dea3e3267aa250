"""Worker credentials over HTTP: secrets of any length, deletion, checks first; own tasks only."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from PIL import Image

from conftest import ConfigMaker
from flamenco.manager import config, keys
from flamenco.manager.eventbus.broker import EventKind
from flamenco.manager.services import worker_secrets
from flamenco.manager.services.workers import WorkerService
from support.cluster import REDIS_URL
from support.jobs import submit_echo_sleep, tasks_by_name
from support.manager import RunningManager, run_manager
from support.waiting import until
from support.worker_session import WorkerSession

# Past bcrypt's 72 bytes: ASCII, multi-byte UTF-8, and far past.
LONG_SECRETS = ("a" * 73, "é" * 40, "s3cr3t-" * 150)


@pytest.mark.parametrize("secret", LONG_SECRETS, ids=("ascii", "utf-8", "very-long"))
async def test_a_secret_longer_than_bcrypt_takes_works(
    manager: RunningManager, secret: str
) -> None:
    worker = WorkerSession(manager.client)
    worker.secret = secret
    await worker.register()
    assert await worker.sign_on() == "awake"
    # Every byte counts, also those past the 72nd.
    await manager.client.get(
        "/api/v3/worker/state", auth=(worker.uuid, secret[:-1] + "?"), expect=403
    )


async def test_a_long_password_is_wrong_credentials(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.register()
    for worker_uuid in (worker.uuid, str(uuid.uuid4())):
        await manager.client.get("/api/v3/worker/state", auth=(worker_uuid, "p" * 1000), expect=403)


async def test_deleted_workers_are_refused_whatever_the_timing(manager: RunningManager) -> None:
    """Deletions race requests in flight; afterwards, every deleted Worker gets 403."""
    client = manager.client
    sessions = [WorkerSession(client, name=f"racer-{number}") for number in range(40)]
    await asyncio.gather(*(session.register() for session in sessions))

    async def race(session: WorkerSession) -> list[int]:
        # Requests whose credential checks are under way while the deletion commits.
        in_flight = [
            asyncio.create_task(client.get("/api/v3/worker/state", auth=session.auth))
            for _ in range(4)
        ]
        await asyncio.sleep(0.001 * (hash(session.uuid) % 5))
        deletion = await client.delete(f"/api/v3/worker-mgt/workers/{session.uuid}")
        return [deletion.status] + [reply.status for reply in await asyncio.gather(*in_flight)]

    statuses = await asyncio.gather(*(race(session) for session in sessions))
    # Deleted, and each request in flight either made it or was refused as a deleted Worker's.
    assert {deletion for deletion, *_ in statuses} == {204}
    assert {status for _, *in_flight in statuses for status in in_flight} <= {204, 403}
    after = [await client.get("/api/v3/worker/state", auth=s.auth) for s in sessions]
    assert [reply.status for reply in after] == [403] * len(sessions)


async def test_a_check_that_began_before_a_deletion_is_not_kept(
    manager: RunningManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bcrypt check of a request overlaps the deletion of its Worker."""
    workers = manager.app[keys.WORKERS]
    worker = WorkerSession(manager.client)
    await worker.register()
    checking, deleted = threading.Event(), threading.Event()
    secret_matches = worker_secrets.secret_matches

    def slow_secret_matches(secret: str, secret_hash: str) -> bool:
        checking.set()
        deleted.wait(timeout=10)
        return secret_matches(secret, secret_hash)

    monkeypatch.setattr(worker_secrets, "secret_matches", slow_secret_matches)
    check = asyncio.create_task(workers.authenticate(worker.uuid, worker.secret))
    await asyncio.to_thread(checking.wait, 10)
    monkeypatch.setattr(worker_secrets, "secret_matches", secret_matches)
    await manager.client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=204)
    deleted.set()
    await check
    assert not await workers.authenticate(worker.uuid, worker.secret)


@asynccontextmanager
async def two_managers(loaded: config.LoadedConfig) -> AsyncIterator[list[RunningManager]]:
    """Two Manager processes' worth of app, in this process, on one PostgreSQL database."""
    runners = [run_manager(loaded), run_manager(loaded)]
    managers = [await anext(runner) for runner in runners]
    try:
        yield managers
    finally:
        for runner in reversed(runners):
            await anext(runner, None)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_worker_deleted_on_another_process_is_refused(
    manager_config: config.LoadedConfig,
) -> None:
    """Without Redis no event says so: the Worker's own lookup finds it gone."""
    async with two_managers(manager_config) as (deleting, serving):
        worker = WorkerSession(serving.client)
        await worker.start()
        await deleting.client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=204)
        await serving.client.get("/api/v3/worker/state", auth=worker.auth, expect=403)
        await worker.schedule(expect=403)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_deletion_event_clears_other_processes_credentials(
    make_manager_config: ConfigMaker,
) -> None:
    async with two_managers(make_manager_config(redis_url=REDIS_URL)) as (deleting, serving):
        # Events flow once both relays are subscribed; a tag's event shows when.
        for number in range(100):
            await deleting.client.post(
                "/api/v3/worker-mgt/tags", json_body={"name": f"probe-{number}"}, expect=200
            )
            if serving.events.seen.get(EventKind.WORKER_TAG_UPDATE):
                break
            await asyncio.sleep(0.1)
        worker = WorkerSession(serving.client)
        await worker.start()
        workers = serving.app[keys.WORKERS]
        assert await workers.authenticate(worker.uuid, worker.secret)

        await deleting.client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=204)
        # Forgotten: the check goes to the database again, which knows of the deletion.
        await until(lambda: _refused(workers, worker), timeout=10)


async def _refused(workers: WorkerService, worker: WorkerSession) -> bool:
    return not await workers.authenticate(worker.uuid, worker.secret)


async def test_credentials_are_checked_before_the_body(manager: RunningManager) -> None:
    """A stranger gets 403 whatever it sends, and the Manager does not parse what it sent."""
    client = manager.client
    task_path = f"/api/v3/worker/task/{uuid.uuid4()}"
    strangers = (None, (str(uuid.uuid4()), "wrong"))
    for auth in strangers:
        await client.post(
            "/api/v3/worker/sign-on",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
            auth=auth,
            expect=403,
        )
        await client.post(
            task_path, json_body={"taskStatus": "no-such-status"}, auth=auth, expect=403
        )
        await client.post(
            "/api/v3/worker/task/not-a-uuid", data=b"", auth=auth, expect=403, check_spec=False
        )
        # Larger than the Manager would ever read (413 for a Worker it knows).
        await client.post(
            task_path,
            data=io.BytesIO(b"[" * (33 * 1024 * 1024)),
            headers={"Content-Type": "application/json"},
            auth=auth,
            expect=403,
        )


async def test_output_of_a_task_that_is_not_yours_is_refused(manager: RunningManager) -> None:
    client = manager.client
    owner, other = WorkerSession(client, name="owner"), WorkerSession(client, name="other")
    await owner.start()
    await other.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await owner.next_task()
    waiting = (await tasks_by_name(client, job["id"]))["sleep"]

    async def upload(worker: WorkerSession, task_id: str, expect: int) -> str:
        reply = await client.post(
            f"/api/v3/worker/task/{task_id}/output-produced",
            data=tiny_png(),
            headers={"Content-Type": "image/png"},
            auth=worker.auth,
            expect=expect,
        )
        return str(reply.json()["message"]) if reply.body else ""

    assert await upload(other, task["uuid"], 409) == f"task {task['uuid']} is not assigned to you"
    assert "not assigned to any worker" in await upload(owner, waiting["id"], 409)
    await upload(owner, task["uuid"], 202)


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()
