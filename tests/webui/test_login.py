"""Logging in to the web interface of a Manager with access control on, as an artist."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from support.manager_process import ManagerProcess

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect

PASSWORD = "artist password"


def _create_user(manager: ManagerProcess, name: str, role: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "flamenco.manager",
            "--config",
            str(manager.config_path),
            "--create-user",
            name,
            "--role",
            role,
        ],
        env={**os.environ, "FLAMENCO_PASSWORD": PASSWORD},
        cwd=manager.directory,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
async def manager(tmp_path: Path, database_setting: str) -> AsyncIterator[ManagerProcess]:
    process = ManagerProcess(
        tmp_path / "manager", tmp_path / "shared", database=database_setting, access_control="true"
    )
    _create_user(process, "alice", "artist")
    _create_user(process, "root", "admin")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


SUBMIT_FROM_THE_PAGE = """async () => {
  const me = await (await fetch('/api/v3/access/me')).json();
  const response = await fetch('/api/v3/jobs', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
    body: JSON.stringify({
      name: 'submitted after login', type: 'echo-sleep-test', priority: 50,
      submitter_platform: 'linux', metadata: {},
      settings: {message: 'hi', sleep_duration_seconds: 1, sleep_repeats: 1},
    }),
  });
  return response.status;
}"""


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_an_artist_logs_in_submits_and_is_refused_the_settings_an_admin_manages(
    manager: ManagerProcess, page: Any
) -> None:
    await page.goto(manager.base_url + "/app/")
    await page.get_by_label("User name").fill("alice")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("wrong user name or password")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_test_id("login-name")).to_contain_text("alice (artist)")

    assert await page.evaluate(SUBMIT_FROM_THE_PAGE) == 200
    # The live connection took the session cookie: the new job appears by itself.
    await expect(
        page.get_by_test_id("jobs-table").get_by_text("submitted after login")
    ).to_be_visible()

    await page.goto(manager.base_url + "/app/settings")
    await expect(page.get_by_role("alert")).to_contain_text("may not do this")

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # An administrator sees who did what.
    await page.get_by_label("User name").fill("root")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("link", name="Audit log").click()
    audit = page.get_by_test_id("audit-view")
    await expect(audit.get_by_role("row").filter(has_text="submitJob")).to_contain_text("alice")

    # ... and hands out tokens and users.
    await page.get_by_role("link", name="Access").click()
    access = page.get_by_test_id("access-view")
    await access.get_by_label("For", exact=True).fill("ana")
    await access.get_by_role("button", name="Create token").click()
    await expect(access.get_by_test_id("created-token")).to_contain_text("flamenco_")
    row = access.get_by_role("row").filter(has_text="ana")
    await expect(row).to_contain_text("artist")
    await row.get_by_role("button", name="Revoke").click()
    await expect(access.get_by_role("row").filter(has_text="ana")).to_have_count(0)
    await access.get_by_label("Name", exact=True).fill("carl")
    await access.get_by_label("Password").fill("carl's password")
    await access.get_by_role("button", name="Add or change user").click()
    await expect(access.get_by_role("row").filter(has_text="carl")).to_contain_text("artist")
