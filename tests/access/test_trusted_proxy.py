"""A reverse proxy that logs people in (oauth2-proxy style) names them in a trusted header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.access.roles import Role
from support.manager import RunningManager, run_manager


def _job() -> dict[str, Any]:
    return {
        "name": "proxied",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }


@pytest.fixture
async def behind_proxy(make_manager_config: ConfigMaker) -> AsyncIterator[RunningManager]:
    # The test client connects from 127.0.0.1, standing in for the proxy.
    loaded = make_manager_config(
        access_control=True, trusted_proxy_addresses="10.0.0.0/8, 127.0.0.1"
    )
    async for running in run_manager(loaded):
        await running.app[keys.ACCESS].save_user("bob", Role.ARTIST, "bob's password")
        yield running


async def test_the_proxy_names_the_person(behind_proxy: RunningManager) -> None:
    client = behind_proxy.client
    # Someone the proxy knows but the Manager does not: trusted_proxy_role, viewer.
    stranger = {"X-Forwarded-User": "carla@studio.example"}
    me = await client.get("/api/v3/access/me", headers=stranger, expect=200)
    assert me.json()["role"] == "viewer" and me.json()["credential"] == "proxy"
    await client.post("/api/v3/jobs", json_body=_job(), headers=stranger, expect=403)
    # A local user of that name has that user's role.
    bob = {"X-Forwarded-User": "bob"}
    job = await client.post("/api/v3/jobs", json_body=_job(), headers=bob, expect=200)
    await client.post(
        f"/api/v3/jobs/{job.json()['id']}/setpriority",
        json_body={"priority": 1},
        headers=bob,
        expect=204,
    )
    # A change sent from another site's page, with the proxy's cookie: refused.
    for cross_site in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        await client.post(
            "/api/v3/jobs", json_body=_job(), headers={**bob, **cross_site}, expect=403
        )
    same_origin = {"Origin": behind_proxy.base_url, "Sec-Fetch-Site": "same-origin"}
    await client.post("/api/v3/jobs", json_body=_job(), headers={**bob, **same_origin}, expect=200)
    live = socketio.AsyncClient()
    await live.connect(behind_proxy.base_url, transports=["websocket"], headers=bob, wait_timeout=5)
    assert live.connected
    await live.disconnect()


async def test_the_header_counts_only_from_the_proxy(make_manager_config: ConfigMaker) -> None:
    loaded = make_manager_config(access_control=True, trusted_proxy_addresses="10.9.9.9")
    async for running in run_manager(loaded):
        await running.client.get("/api/v3/jobs", headers={"X-Forwarded-User": "admin"}, expect=401)


def test_a_wrong_proxy_address_is_a_configuration_error(make_manager_config: ConfigMaker) -> None:
    from flamenco.manager import config

    with pytest.raises(config.ConfigError, match="trusted_proxy_addresses"):
        make_manager_config(trusted_proxy_addresses="proxy.example")


async def test_logins_behind_the_proxy(behind_proxy: RunningManager) -> None:
    client = behind_proxy.client
    https = {"X-Forwarded-Proto": "https"}
    login = await client.post(
        "/api/v3/access/login",
        json_body={"name": "bob", "password": "bob's password"},
        headers=https,
        expect=200,
    )
    assert "Secure" in login.headers["Set-Cookie"]
    # Failed logins count per client the proxy names, not for all of them at once.
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(5):
        await client.post(
            "/api/v3/access/login",
            json_body={"name": "bob", "password": "guess"},
            headers=guesser,
            expect=401,
        )
    await client.post(
        "/api/v3/access/login",
        json_body={"name": "bob", "password": "bob's password"},
        headers=guesser,
        expect=429,
    )
    await client.post(
        "/api/v3/access/login",
        json_body={"name": "bob", "password": "bob's password"},
        headers={"X-Forwarded-For": "203.0.113.8"},
        expect=200,
    )
