"""Signing in to the web interface through an OpenID Connect provider, in Chromium."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from support.manager_process import ManagerProcess
from support.oidc_provider import IdentityProvider, oidc_settings, running_provider

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


@pytest.fixture
async def provider() -> AsyncIterator[IdentityProvider]:
    async with running_provider() as running:
        yield running


@pytest.fixture
async def manager(
    tmp_path: Path, database_setting: str, provider: IdentityProvider
) -> AsyncIterator[ManagerProcess]:
    process = ManagerProcess(
        tmp_path / "manager",
        tmp_path / "shared",
        database=database_setting,
        access_control="true",
        # JSON is YAML: the whole section on one line.
        oidc=json.dumps(oidc_settings(provider)),
    )
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_sign_in_button_logs_in_through_the_provider(
    manager: ManagerProcess, provider: IdentityProvider, page: Any
) -> None:
    await page.goto(manager.base_url + "/app/")
    await page.get_by_role("link", name="Sign in with Test SSO").click()
    # To the provider and back: logged in with the role of the group.
    await expect(page.get_by_test_id("login-name")).to_contain_text("carol (artist)")
    assert len(provider.authorize_requests) == 1
    # The session works for changes from the page too (the CSRF token came with it).
    status, message = await page.evaluate(
        """async () => {
          const me = await (await fetch('/api/v3/access/me')).json();
          const response = await fetch('/api/v3/worker-mgt/tags', {
            method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
            body: JSON.stringify({name: 'from single sign-on'}),
          });
          return [response.status, (await response.json()).message];
        }"""
    )
    # An artist manages no tags: refused for the role, not for a missing login or CSRF token.
    assert status == 403 and "role artist" in message, message

    await page.get_by_role("button", name="Log out").click()
    provider.next_claims = {"preferred_username": "mallory", "groups": ["outsiders"]}
    await page.get_by_role("link", name="Sign in with Test SSO").click()
    await expect(page.locator("body")).to_contain_text("mallory has no role")
