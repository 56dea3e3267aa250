"""Logging in to the web interface: session cookies, CSRF tokens, and slowing down guessing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
import yarl

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.access.roles import Role
from support.access import api_token, bearer
from support.manager import RunningManager, run_manager
from support.spec_client import SpecCheckedClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def guarded(make_manager_config: ConfigMaker) -> AsyncIterator[RunningManager]:
    loaded = make_manager_config(access_control=True)
    async for running in run_manager(loaded):
        await running.app[keys.ACCESS].save_user("alice", Role.ARTIST, PASSWORD)
        yield running


def _job() -> dict[str, Any]:
    return {
        "name": "from the browser",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }


def _session_cookie(session: aiohttp.ClientSession, manager: RunningManager) -> str:
    return session.cookie_jar.filter_cookies(yarl.URL(manager.base_url))["flamenco_session"].value


async def _browser(manager: RunningManager) -> tuple[aiohttp.ClientSession, SpecCheckedClient]:
    # unsafe=True: keep cookies for an IP address host, as a browser would.
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    return session, SpecCheckedClient(session, manager.base_url)


async def test_a_login_is_a_cookie_plus_a_csrf_token(guarded: RunningManager) -> None:
    session, browser = await _browser(guarded)
    async with session:
        login = await browser.post(
            "/api/v3/access/login", json_body={"name": "alice", "password": PASSWORD}, expect=200
        )
        cookie = login.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # Plain HTTP here; set under TLS.
        csrf = login.json()["csrf_token"]
        assert login.json()["role"] == "artist"

        await browser.get("/api/v3/jobs", expect=200)
        # A change with the cookie alone, as another site's page could make: refused.
        refused = await browser.post("/api/v3/jobs", json_body=_job(), expect=403)
        assert "X-CSRF-Token" in refused.json()["message"]
        job = await browser.post(
            "/api/v3/jobs", json_body=_job(), headers={"X-CSRF-Token": csrf}, expect=200
        )
        # The job is Alice's.
        me = await browser.get("/api/v3/access/me", expect=200)
        assert me.json()["name"] == "alice" and me.json()["csrf_token"] == csrf
        await browser.post(
            f"/api/v3/jobs/{job.json()['id']}/setpriority",
            json_body={"priority": 3},
            headers={"X-CSRF-Token": csrf},
            expect=204,
        )
        # An artist is no administrator.
        await browser.get("/api/v3/configuration/file", expect=403)

        await browser.post("/api/v3/access/logout", expect=204)
        await browser.get("/api/v3/jobs", expect=401)


async def test_logging_out_ends_the_session_on_the_manager(guarded: RunningManager) -> None:
    session, browser = await _browser(guarded)
    async with session:
        await browser.post(
            "/api/v3/access/login", json_body={"name": "alice", "password": PASSWORD}, expect=200
        )
        stolen = {"Cookie": f"flamenco_session={_session_cookie(session, guarded)}"}
        await browser.post("/api/v3/access/logout", expect=204)
    await guarded.client.get("/api/v3/jobs", headers=stolen, expect=401)


async def test_failed_logins_are_limited(guarded: RunningManager) -> None:
    client = guarded.client
    for _ in range(5):
        await client.post(
            "/api/v3/access/login", json_body={"name": "alice", "password": "wrong!"}, expect=401
        )
    await client.post(
        "/api/v3/access/login", json_body={"name": "nobody", "password": "x"}, expect=429
    )
    limited = await client.post(
        "/api/v3/access/login", json_body={"name": "alice", "password": PASSWORD}, expect=429
    )
    assert int(limited.headers["Retry-After"]) > 0


async def test_socket_io_takes_the_session_cookie(guarded: RunningManager) -> None:
    session, browser = await _browser(guarded)
    async with session:
        await browser.post(
            "/api/v3/access/login", json_body={"name": "alice", "password": PASSWORD}, expect=200
        )
        value = _session_cookie(session, guarded)
    client = socketio.AsyncClient()
    await client.connect(
        guarded.base_url,
        transports=["websocket"],
        headers={"Cookie": f"flamenco_session={value}"},
        wait_timeout=5,
    )
    assert client.connected
    await client.disconnect()


async def test_users_are_managed_by_administrators(guarded: RunningManager) -> None:
    client = guarded.client
    admin = bearer(await api_token(guarded.app, "root", Role.ADMIN))
    await client.put(
        "/api/v3/access/users/bob",
        json_body={"role": "viewer", "password": "short"},
        headers=admin,
        expect=400,
    )
    await client.put(
        "/api/v3/access/users/bob",
        json_body={"role": "wrangler", "password": "long enough"},
        headers=admin,
        expect=204,
    )
    users = await client.get("/api/v3/access/users", headers=admin, expect=200)
    assert {"name": "bob", "role": "wrangler"} in users.json()["users"]
    assert "long enough" not in users.text
    await client.post(
        "/api/v3/access/login", json_body={"name": "bob", "password": "long enough"}, expect=200
    )
    await client.delete("/api/v3/access/users/bob", headers=admin, expect=204)
    await client.post(
        "/api/v3/access/login", json_body={"name": "bob", "password": "long enough"}, expect=401
    )
