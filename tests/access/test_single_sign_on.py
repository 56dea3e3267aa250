"""Single sign-on through OpenID Connect, against a test provider over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yarl
from joserfc.jwk import RSAKey

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.access.roles import Role
from support.manager import RunningManager, run_manager
from support.oidc_provider import IdentityProvider, oidc_settings, running_provider
from support.spec_client import SpecCheckedClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def provider() -> AsyncIterator[IdentityProvider]:
    async with running_provider() as running:
        yield running


async def _manager(
    make_manager_config: ConfigMaker, provider: IdentityProvider, **oidc: Any
) -> AsyncIterator[RunningManager]:
    loaded = make_manager_config(access_control=True, oidc=oidc_settings(provider, **oidc))
    async for running in run_manager(loaded):
        yield running


@pytest.fixture
async def manager(
    make_manager_config: ConfigMaker, provider: IdentityProvider
) -> AsyncIterator[RunningManager]:
    async for running in _manager(make_manager_config, provider):
        yield running


def _browser() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies for an IP address host, as a browser would.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _to_callback(
    browser: aiohttp.ClientSession, manager: RunningManager
) -> tuple[yarl.URL, aiohttp.ClientResponse]:
    """Press the button and let the provider send the browser back: the callback URL."""
    start = await browser.get(f"{manager.base_url}/api/v3/access/oidc/login", allow_redirects=False)
    assert start.status == 302, await start.text()
    pending_cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in pending_cookie and "SameSite=Lax" in pending_cookie
    at_provider = await browser.get(start.headers["Location"], allow_redirects=False)
    assert at_provider.status == 302, await at_provider.text()
    return yarl.URL(at_provider.headers["Location"]), start


async def _sign_on(
    browser: aiohttp.ClientSession, manager: RunningManager
) -> aiohttp.ClientResponse:
    callback, _ = await _to_callback(browser, manager)
    return await browser.get(callback, allow_redirects=False)


async def _refusal(response: aiohttp.ClientResponse, status: int) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["code"] == status
    assert "flamenco_session" not in response.cookies
    return str(body["message"])


async def test_the_login_page_learns_of_the_provider(manager: RunningManager) -> None:
    async with _browser() as session:
        client = SpecCheckedClient(session, manager.base_url)
        methods = await client.get("/api/v3/access/login-methods", expect=200)
        assert methods.json() == {
            "password": True,
            "single_sign_on": {
                "provider_name": "Test SSO",
                "login_url": "/api/v3/access/oidc/login",
            },
        }


async def test_signing_on_gives_a_session_with_the_mapped_role(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    async with _browser() as browser:
        callback, _ = await _to_callback(browser, manager)
        request = provider.authorize_requests[-1]
        assert request["redirect_uri"] == f"{manager.base_url}/api/v3/access/oidc/callback"
        assert request["scope"] == "openid profile groups"
        assert request["nonce"] and request["state"] and request["code_challenge"]
        finished = await browser.get(callback, allow_redirects=False)
        assert finished.status == 302, await finished.text()
        assert finished.headers["Location"] == "/"
        cookie = finished.cookies["flamenco_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        # The token request proved it started the login: PKCE.
        assert provider.token_requests[-1]["code_verifier"]

        client = SpecCheckedClient(browser, manager.base_url)
        me = (await client.get("/api/v3/access/me", expect=200)).json()
        assert me["name"] == "carol" and me["role"] == "artist" and me["credential"] == "session"
        # Changes need the CSRF token, as after a password login.
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "x"}, expect=403)
        admin_only = await client.get("/api/v3/access/users", expect=403)
        assert "role artist" in admin_only.json()["message"]

    entries = await manager.app[keys.ACCESS].fetch_audit_log(before=2**62, limit=10)
    logins = [entry for entry in entries if entry.operation == "finishSingleSignOn"]
    assert len(logins) == 1
    assert logins[0].principal == "carol" and logins[0].detail["role"] == "artist"
    assert logins[0].detail["groups"] == ["artists"]


async def test_the_highest_mapped_role_counts_and_changes_at_the_next_login(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    provider.next_claims = {"preferred_username": "dave", "groups": ["artists", "render-admins"]}
    async with _browser() as browser:
        assert (await _sign_on(browser, manager)).status == 302
        me = await browser.get(f"{manager.base_url}/api/v3/access/me")
        assert (await me.json())["role"] == "admin"
    provider.next_claims = {"preferred_username": "dave", "groups": ["artists"]}
    async with _browser() as browser:
        assert (await _sign_on(browser, manager)).status == 302
        me = await browser.get(f"{manager.base_url}/api/v3/access/me")
        assert (await me.json())["role"] == "artist"
    users = await manager.app[keys.ACCESS].fetch_users()
    assert [(user.name, user.role) for user in users] == [("dave", "artist")]
    # No password works for someone who signs on.
    async with _browser() as browser:
        for password in ("", "anything at all"):
            attempt = await browser.post(
                f"{manager.base_url}/api/v3/access/login",
                json={"name": "dave", "password": password},
            )
            assert attempt.status == 401


async def test_nobody_without_a_role_gets_in(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    provider.next_claims = {"preferred_username": "eve", "groups": ["accounting"]}
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 403)
        assert "eve has no role" in message and "accounting" in message
        me = await browser.get(f"{manager.base_url}/api/v3/access/me")
        assert me.status == 401


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_default_role_lets_everyone_of_the_provider_in(
    make_manager_config: ConfigMaker, provider: IdentityProvider
) -> None:
    provider.next_claims = {"preferred_username": "frank"}  # No groups claim at all.
    async for manager in _manager(make_manager_config, provider, default_role="viewer"):
        async with _browser() as browser:
            assert (await _sign_on(browser, manager)).status == 302
            me = await browser.get(f"{manager.base_url}/api/v3/access/me")
            assert (await me.json())["role"] == "viewer"


async def test_a_wrong_state_is_refused(manager: RunningManager) -> None:
    async with _browser() as browser:
        callback, _ = await _to_callback(browser, manager)
        forged = callback.update_query(state="not-the-state-we-sent")
        # The refusal is an Error body as the spec says.
        client = SpecCheckedClient(browser, manager.base_url)
        refused = await client.get(str(forged.relative()), expect=400)
        assert "state does not match" in refused.json()["message"]


async def test_a_callback_without_the_login_cookie_is_refused(manager: RunningManager) -> None:
    """Another browser (an attacker's victim, say) bringing someone's code and state."""
    async with _browser() as browser:
        callback, _ = await _to_callback(browser, manager)
    async with _browser() as victim:
        message = await _refusal(await victim.get(callback, allow_redirects=False), 400)
        assert "did not start here" in message


async def test_a_wrong_nonce_is_refused(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    provider.nonce = "a nonce from another login"
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 401)
        assert "nonce" in message


async def test_a_bad_signature_is_refused(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    # Same key ID, another key: a forger who does not have the provider's key.
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": provider.key.kid})
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 401)
        assert "signature" in message


async def test_a_token_for_another_audience_is_refused(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    provider.audience = "some-other-application"
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 401)
        assert "aud" in message


async def test_an_expired_token_is_refused(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    provider.issued_ago_seconds = 3600
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 401)
        assert "expired" in message


async def test_a_code_is_good_for_one_login(manager: RunningManager) -> None:
    async with _browser() as browser:
        callback, start = await _to_callback(browser, manager)
        assert (await browser.get(callback, allow_redirects=False)).status == 302
        # Replayed, with the login cookie put back: the provider refuses the spent code.
        browser.cookie_jar.update_cookies(start.cookies, yarl.URL(manager.base_url))
        message = await _refusal(await browser.get(callback, allow_redirects=False), 401)
        assert "refused the authorization code" in message


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_local_user_is_not_taken_over(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    await manager.app[keys.ACCESS].save_user("carol", Role.VIEWER, PASSWORD)
    async with _browser() as browser:
        message = await _refusal(await _sign_on(browser, manager), 403)
        assert "local user" in message
    users = await manager.app[keys.ACCESS].fetch_users()
    assert [(user.name, user.role) for user in users] == [("carol", "viewer")]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_without_the_oidc_section_there_is_no_single_sign_on(
    make_manager_config: ConfigMaker,
) -> None:
    async for manager in run_manager(make_manager_config(access_control=True)):
        async with _browser() as session:
            client = SpecCheckedClient(session, manager.base_url)
            methods = await client.get("/api/v3/access/login-methods", expect=200)
            assert methods.json() == {"password": True}
            await client.get("/api/v3/access/oidc/login", expect=404)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_keys_the_provider_rotated_are_fetched_again(
    manager: RunningManager, provider: IdentityProvider
) -> None:
    async with _browser() as browser:
        assert (await _sign_on(browser, manager)).status == 302
    provider.key = RSAKey.generate_key(2048, parameters={"kid": "key-2"})
    async with _browser() as browser:
        assert (await _sign_on(browser, manager)).status == 302


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_the_callback_may_reach_another_manager_process(
    make_manager_config: ConfigMaker, provider: IdentityProvider
) -> None:
    """Two Managers of one farm behind a load balancer: login starts on one, ends on the other."""
    front = "http://flamenco.example.com"
    loaded = make_manager_config(
        access_control=True, oidc=oidc_settings(provider, redirect_base_url=front)
    )
    async for first in run_manager(loaded):
        async for second in run_manager(loaded):
            async with _browser() as browser:
                callback, _ = await _to_callback(browser, first)
                assert str(callback).startswith(f"{front}/api/v3/access/oidc/callback?")
                # The balancer sends the provider's redirect to the other process.
                finished = await browser.get(
                    f"{second.base_url}{callback.path_qs}", allow_redirects=False
                )
                assert finished.status == 302, await finished.text()
                # The session is in the database: the first process knows it too.
                me = await browser.get(f"{first.base_url}/api/v3/access/me")
                assert (await me.json())["name"] == "carol"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_behind_a_trusted_proxy_the_redirect_uri_is_the_proxys(
    make_manager_config: ConfigMaker, provider: IdentityProvider
) -> None:
    loaded = make_manager_config(
        access_control=True,
        trusted_proxy_addresses="127.0.0.1",
        oidc=oidc_settings(provider),
    )
    async for manager in run_manager(loaded):
        async with _browser() as browser:
            start = await browser.get(
                f"{manager.base_url}/api/v3/access/oidc/login",
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "farm.example.com"},
                allow_redirects=False,
            )
            assert start.status == 302, await start.text()
            assert "Secure" in start.headers["Set-Cookie"]
            redirect_uri = yarl.URL(start.headers["Location"]).query["redirect_uri"]
            assert redirect_uri == "https://farm.example.com/api/v3/access/oidc/callback"
