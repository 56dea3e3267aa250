"""A farm alarm (a failed database check) shows as a banner on every page until it clears."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from support.manager_process import ManagerProcess
from webui.helpers import screenshot


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


@pytest.fixture
async def checked_often(tmp_path: Path) -> AsyncIterator[ManagerProcess]:
    process = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
    with process.config_path.open("a", encoding="utf-8") as settings:
        settings.write("database_check_period: 200ms\ndatabase_backup_period: 0s\n")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def test_alarm_banner_appears_and_clears(checked_often: ManagerProcess, browser: Any) -> None:
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await page.goto(checked_often.base_url + "/app/jobs")
    alarms = page.get_by_test_id("farm-alarms")
    await expect(page.locator(".jobs-view")).to_be_visible()
    await expect(alarms).to_have_count(0)

    database = checked_often.directory / "flamenco-manager.sqlite"
    outside = sqlite3.connect(database, isolation_level=None)
    try:
        outside.execute(
            "INSERT INTO task_failures (task_id, worker_id, created_at) VALUES (99999, 99999, 'x')"
        )
        await expect(alarms).to_contain_text("The database check failed", timeout=15_000)
        await expect(alarms).to_contain_text("--recover-database")
        await screenshot(page, "farm-alarm")
        # Another view, same banner: the alarm is farm-wide.
        await page.goto(checked_often.base_url + "/app/workers")
        await expect(alarms).to_contain_text("The database check failed", timeout=15_000)
        outside.execute("DELETE FROM task_failures WHERE task_id = 99999")
    finally:
        outside.close()
    await expect(alarms).to_have_count(0, timeout=15_000)
    assert "DATABASE CHECK FAILED" in checked_often.log()
    await page.close()
