"""Access control over real HTTP: off changes nothing, on nothing gets in without credentials."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from conftest import ConfigMaker
from flamenco.manager import config
from flamenco.manager.access.roles import Role
from flamenco.worker import config as worker_config
from flamenco.worker.client import ManagerClient
from flamenco.worker.worker import RegistrationFailed, register_or_sign_on
from support.access import ENROLMENT_SECRET, api_token, bearer, tokens_by_role
from support.fakes import FakeClock
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

SRC = Path(__file__).resolve().parents[2] / "src"


def _job(name: str = "a job") -> dict[str, Any]:
    return {
        "name": name,
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }


def _registration(name: str = "worker") -> dict[str, Any]:
    return {
        "name": name,
        "platform": "linux",
        "secret": "s3cret",
        "supported_task_types": ["misc"],
    }


@pytest.fixture
async def guarded(make_manager_config: ConfigMaker) -> AsyncIterator[RunningManager]:
    loaded = make_manager_config(access_control=True, worker_enrolment_secret=ENROLMENT_SECRET)
    async for running in run_manager(loaded):
        yield running


async def test_an_upstream_client_is_accepted_while_access_control_is_off(
    manager: RunningManager,
) -> None:
    """What the upstream add-on and Go Worker do, without any credentials."""
    await manager.client.get("/api/v3/version", expect=200)
    await manager.client.post("/api/v3/jobs", json_body=_job(), expect=200)
    await manager.client.post(
        "/api/v3/worker/register-worker", json_body=_registration(), expect=200
    )
    me = await manager.client.get("/api/v3/access/me", expect=200)
    assert me.json() == {
        "name": "anonymous",
        "credential": "open",
        "role": "admin",
        "access_control": False,
    }


async def test_an_upstream_client_is_refused_while_access_control_is_on(
    guarded: RunningManager,
) -> None:
    client = guarded.client
    for method, path, body in (
        ("GET", "/api/v3/version", None),
        ("POST", "/api/v3/jobs", _job()),
        ("POST", "/api/v3/worker/register-worker", _registration()),
        ("GET", "/api/v3/jobs", None),
        ("GET", "/api/v3/configuration/file", None),
    ):
        reply = await client.request(method, path, json_body=body, expect=401)
        assert reply.json()["code"] == 401
        assert "Bearer" in reply.headers["WWW-Authenticate"]
    # Nothing was stored on the way.
    viewer = await api_token(guarded.app, "viewer", Role.VIEWER)
    jobs = await client.get("/api/v3/jobs", headers=bearer(viewer), expect=200)
    assert jobs.json()["jobs"] == []
    workers = await client.get("/api/v3/worker-mgt/workers", headers=bearer(viewer), expect=200)
    assert workers.json()["workers"] == []


async def test_what_is_served_beside_the_api(guarded: RunningManager) -> None:
    viewer = await api_token(guarded.app, "viewer", Role.VIEWER)
    await guarded.client.get("/job-files/job-x/task.txt", expect=401)
    await guarded.client.get("/job-files/job-x/task.txt", headers=bearer(viewer), expect=404)
    # The web interface's own files, the spec and the add-on hold no farm data.
    app_page = await guarded.client.get("/app/")
    assert app_page.status != 401
    await guarded.client.get("/api/v3/openapi3.json", expect=200)
    await guarded.client.get("/flamenco-addon.zip", expect=200)


async def test_socket_io_needs_a_viewer(guarded: RunningManager) -> None:
    refused = socketio.AsyncClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(guarded.base_url, transports=["websocket"], wait_timeout=5)
    await refused.disconnect()
    viewer = await api_token(guarded.app, "viewer", Role.VIEWER)
    for auth, headers in (({"token": viewer}, None), (None, bearer(viewer))):
        accepted = socketio.AsyncClient()
        await accepted.connect(
            guarded.base_url,
            transports=["websocket"],
            auth=auth,
            headers=headers,
            wait_timeout=5,
        )
        assert accepted.connected
        await accepted.disconnect()


async def test_tokens_are_made_listed_and_revoked_by_administrators(
    guarded: RunningManager,
) -> None:
    client = guarded.client
    admin = bearer(await api_token(guarded.app, "root", Role.ADMIN))
    created = await client.post(
        "/api/v3/access/tokens",
        json_body={"kind": "api", "name": "carol", "role": "artist", "description": "laptop"},
        headers=admin,
        expect=200,
    )
    token = created.json()["token"]
    info = created.json()["info"]
    assert info["name"] == "carol" and info["role"] == "artist"
    listing = await client.get("/api/v3/access/tokens", headers=admin, expect=200)
    assert info in listing.json()["tokens"]
    assert token not in listing.text  # Only its hash is kept.
    me = await client.get("/api/v3/access/me", headers=bearer(token), expect=200)
    assert me.json() == {
        "name": "carol",
        "role": "artist",
        "credential": "token",
        "access_control": True,
    }
    await client.post("/api/v3/jobs", json_body=_job(), headers=bearer(token), expect=200)

    await client.delete(f"/api/v3/access/tokens/{info['id']}", headers=admin, expect=204)
    await client.get("/api/v3/access/me", headers=bearer(token), expect=401)
    await client.delete(f"/api/v3/access/tokens/{info['id']}", headers=admin, expect=404)
    listing = await client.get("/api/v3/access/tokens", headers=admin, expect=200)
    assert info["id"] not in {listed["id"] for listed in listing.json()["tokens"]}


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "api", "name": "no role"},
        {"kind": "enrolment", "name": "farm", "role": "admin"},
        {"kind": "api", "name": "x", "role": "viewer", "single_use": True},
        {"kind": "api", "name": "   ", "role": "viewer"},
        {"kind": "api", "name": "x", "role": "overlord"},
        {"kind": "api", "name": "x", "role": "viewer", "valid_for_seconds": 0},
    ],
)
async def test_bad_token_requests_are_refused(guarded: RunningManager, body: Any) -> None:
    admin = bearer(await api_token(guarded.app, "root", Role.ADMIN))
    reply = await guarded.client.post(
        "/api/v3/access/tokens", json_body=body, headers=admin, expect=400
    )
    assert reply.json()["message"]


async def test_artists_change_only_their_own_jobs(guarded: RunningManager) -> None:
    client = guarded.client
    tokens = await tokens_by_role(guarded.app)
    alice = bearer(await api_token(guarded.app, "alice", Role.ARTIST))
    # A second token of the same person acts for the same person.
    alice_laptop = bearer(await api_token(guarded.app, "alice", Role.ARTIST))
    bob = bearer(await api_token(guarded.app, "bob", Role.ARTIST))
    job = (await client.post("/api/v3/jobs", json_body=_job(), headers=alice, expect=200)).json()
    path = f"/api/v3/jobs/{job['id']}/setpriority"
    await client.post(path, json_body={"priority": 10}, headers=bob, expect=403)
    await client.post(path, json_body={"priority": 20}, headers=alice_laptop, expect=204)
    await client.post(
        path, json_body={"priority": 30}, headers=bearer(tokens[Role.WRANGLER]), expect=204
    )
    tasks = await client.get(f"/api/v3/jobs/{job['id']}/tasks", headers=bob, expect=200)
    task_path = f"/api/v3/tasks/{tasks.json()['tasks'][0]['id']}/setstatus"
    change = {"status": "canceled", "reason": "testing"}
    await client.post(task_path, json_body=change, headers=bob, expect=403)
    await client.post(task_path, json_body=change, headers=alice, expect=204)
    await client.delete(f"/api/v3/jobs/{job['id']}", headers=bob, expect=403)
    await client.delete(f"/api/v3/jobs/{job['id']}", headers=alice, expect=204)


async def test_jobs_from_before_access_control_belong_to_wranglers(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config()
    async for open_manager in run_manager(loaded):
        job = await submit_echo_sleep(open_manager.client)
    loaded = make_manager_config(access_control=True)
    async for running in run_manager(loaded):
        artist = bearer(await api_token(running.app, "alice", Role.ARTIST))
        wrangler = bearer(await api_token(running.app, "wrangler", Role.WRANGLER))
        path = f"/api/v3/jobs/{job['id']}/setpriority"
        await running.client.post(path, json_body={"priority": 1}, headers=artist, expect=403)
        await running.client.post(path, json_body={"priority": 2}, headers=wrangler, expect=204)


async def test_the_enrolment_secret_guards_registration_even_with_access_control_off(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config(worker_enrolment_secret=ENROLMENT_SECRET)
    async for running in run_manager(loaded):
        client = running.client
        path = "/api/v3/worker/register-worker"
        await client.post(path, json_body=_registration(), expect=401)
        await client.post(path, json_body=_registration(), headers=bearer("guess"), expect=401)
        worker = WorkerSession(client)
        await worker.register(headers=bearer(ENROLMENT_SECRET))
        # Registered Workers keep using their own credentials; the rest stays open.
        assert await worker.sign_on() == "awake"
        await client.get("/api/v3/jobs", expect=200)


async def test_enrolment_tokens_single_use_and_time_limited(
    make_manager_config: ConfigMaker,
) -> None:
    clock = FakeClock()
    loaded = make_manager_config(access_control=True)
    async for running in run_manager(loaded, clock=clock):
        client = running.client
        admin = bearer(await api_token(running.app, "root", Role.ADMIN))

        async def enrolment_token(
            client: SpecCheckedClient = client, admin: dict[str, str] = admin, **options: Any
        ) -> str:
            reply = await client.post(
                "/api/v3/access/tokens",
                json_body={"kind": "enrolment", "name": "render-room", **options},
                headers=admin,
                expect=200,
            )
            return str(reply.json()["token"])

        once = await enrolment_token(single_use=True)
        await WorkerSession(client, name="first").register(headers=bearer(once))
        await client.post(
            "/api/v3/worker/register-worker",
            json_body=_registration("second"),
            headers=bearer(once),
            expect=401,
        )

        for_a_minute = await enrolment_token(valid_for_seconds=60)
        await WorkerSession(client, name="a").register(headers=bearer(for_a_minute))
        await WorkerSession(client, name="b").register(headers=bearer(for_a_minute))
        clock.advance(61)
        await client.post(
            "/api/v3/worker/register-worker",
            json_body=_registration("late"),
            headers=bearer(for_a_minute),
            expect=401,
        )
        # An enrolment token is for registering only.
        await client.get("/api/v3/jobs", headers=bearer(await enrolment_token()), expect=403)


async def test_single_use_enrolment_tokens_work_once_under_a_race(
    guarded: RunningManager,
) -> None:
    client = guarded.client
    admin = bearer(await api_token(guarded.app, "root", Role.ADMIN))
    reply = await client.post(
        "/api/v3/access/tokens",
        json_body={"kind": "enrolment", "name": "race", "single_use": True},
        headers=admin,
        expect=200,
    )
    once = bearer(reply.json()["token"])
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v3/worker/register-worker", json_body=_registration(f"w{n}"), headers=once
            )
            for n in range(8)
        )
    )
    assert sorted(answer.status for answer in answers) == [200] + [401] * 7


async def test_our_worker_registers_with_the_secret_from_its_environment(
    guarded: RunningManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = worker_config.WorkerConfig(manager_url=guarded.base_url, worker_name="enrolled")
    credentials_path = tmp_path / "credentials.yaml"
    client = ManagerClient(guarded.base_url, enrolment_secret=worker_config.enrolment_secret(cfg))
    try:
        with pytest.raises(RegistrationFailed, match="401"):
            await register_or_sign_on(client, cfg, credentials_path, FakeClock())
    finally:
        await client.close()

    monkeypatch.setenv(worker_config.ENROLMENT_SECRET_VARIABLE, ENROLMENT_SECRET)
    client = ManagerClient(guarded.base_url, enrolment_secret=worker_config.enrolment_secret(cfg))
    try:
        assert (await client.get_version()).status == 200
        assert await register_or_sign_on(client, cfg, credentials_path, FakeClock()) == "awake"
        # Registered, it shows its own credentials, also for the version.
        client.enrolment_secret = ""
        assert (await client.get_version()).status == 200
    finally:
        await client.close()


def test_the_worker_reads_the_secret_from_its_configuration(tmp_path: Path) -> None:
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text("worker_enrolment_secret: from-the-file\n", encoding="utf-8")
    loaded = worker_config.load_config(path)
    assert worker_config.enrolment_secret(loaded) == "from-the-file"
    assert "from-the-file" not in repr(loaded)


def _manager_command(config_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config_path), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


async def test_tokens_from_the_command_line_work_in_the_running_manager(
    make_manager_config: ConfigMaker,
) -> None:
    """The token lives in the database, so another process made it and this one knows it."""
    loaded = make_manager_config(access_control=True)
    async for running in run_manager(loaded):
        made = await asyncio.to_thread(
            _manager_command, loaded.path, "--create-token", "dave", "--role", "artist"
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        await running.client.post(
            "/api/v3/jobs", json_body=_job(), headers=bearer(token), expect=200
        )
        listed = await asyncio.to_thread(_manager_command, loaded.path, "--list-tokens")
        assert "api token for dave, role artist" in listed.stdout
        token_id = listed.stdout.split(":")[0]
        revoked = await asyncio.to_thread(_manager_command, loaded.path, "--revoke-token", token_id)
        assert revoked.returncode == 0, revoked.stderr
        await running.client.get("/api/v3/jobs", headers=bearer(token), expect=401)


def test_the_command_line_refuses_a_token_without_role(manager_yaml: Path) -> None:
    made = _manager_command(manager_yaml, "--create-token", "eve")
    assert made.returncode == 2
    assert "--role" in made.stderr


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_revoking_in_one_process_refuses_in_another(
    make_manager_config: ConfigMaker,
) -> None:
    loaded: config.LoadedConfig = make_manager_config(access_control=True)
    async for first in run_manager(loaded):
        async for second in run_manager(loaded):
            admin = bearer(await api_token(first.app, "root", Role.ADMIN))
            created = await second.client.post(
                "/api/v3/access/tokens",
                json_body={"kind": "api", "name": "frank", "role": "viewer"},
                headers=admin,
                expect=200,
            )
            token = bearer(created.json()["token"])
            await first.client.get("/api/v3/jobs", headers=token, expect=200)
            await second.client.delete(
                f"/api/v3/access/tokens/{created.json()['info']['id']}",
                headers=admin,
                expect=204,
            )
            await first.client.get("/api/v3/jobs", headers=token, expect=401)


async def test_the_audit_log_says_who_changed_what(guarded: RunningManager) -> None:
    client = guarded.client
    admin = bearer(await api_token(guarded.app, "root", Role.ADMIN))
    alice = bearer(await api_token(guarded.app, "alice", Role.ARTIST))
    wrangler = bearer(await api_token(guarded.app, "wendy", Role.WRANGLER))
    job = (await client.post("/api/v3/jobs", json_body=_job(), headers=alice, expect=200)).json()
    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "pause-requested", "reason": "lunch"},
        headers=alice,
        expect=204,
    )
    worker = WorkerSession(client)
    await worker.register(headers=bearer(ENROLMENT_SECRET))
    await client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
        json_body={"status": "asleep", "is_lazy": False},
        headers=wrangler,
        expect=204,
    )
    await client.delete(f"/api/v3/jobs/{job['id']}", headers=alice, expect=204)
    await client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", headers=wrangler, expect=204)
    # Refused and read-only requests leave no entry.
    await client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", headers=alice, expect=403)
    await client.get("/api/v3/jobs", headers=alice, expect=200)

    await client.get("/api/v3/access/audit", headers=wrangler, expect=403)
    log = await client.get("/api/v3/access/audit", headers=admin, expect=200)
    entries = [
        (entry["who"], entry["operation"], entry["subject"], entry["detail"])
        for entry in reversed(log.json()["entries"])
    ]
    assert entries == [
        (
            "alice",
            "submitJob",
            job["id"],
            {"name": "a job", "priority": 50, "type": "echo-sleep-test"},
        ),
        ("alice", "setJobStatus", job["id"], {"status": "pause-requested", "reason": "lunch"}),
        ("wendy", "requestWorkerStatusChange", worker.uuid, {"status": "asleep", "is_lazy": False}),
        ("alice", "deleteJob", job["id"], {}),
        ("wendy", "deleteWorker", worker.uuid, {}),
    ]
    assert all(entry["address"] == "127.0.0.1" for entry in log.json()["entries"])
    newest = log.json()["entries"][0]["id"]
    page = await client.get(
        f"/api/v3/access/audit?before={newest}&limit=2", headers=admin, expect=200
    )
    assert [entry["operation"] for entry in page.json()["entries"]] == [
        "deleteJob",
        "requestWorkerStatusChange",
    ]
