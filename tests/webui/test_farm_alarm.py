"""A farm alarm (a failed database check, a full disk) shows as a banner on every page until it
clears."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.jobs import submit_echo_sleep
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.tmpfs import fill, mounted_tmpfs
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


# More than the room left in the pages of the database file: it needs new ones.
BIG_JOB = {
    "name": "big",
    "type": "echo-sleep-test",
    "priority": 50,
    "submitter_platform": "linux",
    "settings": {"message": "x" * 100_000},
    "metadata": {},
}


async def test_full_disk_banner_appears_and_clears(tmp_path: Path, browser: Any) -> None:
    with mounted_tmpfs(tmp_path / "disk") as disk:
        process = ManagerProcess(
            tmp_path / "manager", tmp_path / "shared", database=str(disk / "farm.sqlite")
        )
        await process.start()
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            await page.goto(process.base_url + "/app/jobs")
            alarms = page.get_by_test_id("farm-alarms")
            await expect(page.locator(".jobs-view")).to_be_visible()
            filler = fill(disk)
            async with aiohttp.ClientSession() as session:
                client = SpecCheckedClient(session, process.base_url)
                await client.post("/api/v3/jobs", json_body=BIG_JOB, expect=507)
                await expect(alarms).to_contain_text("The disk is full", timeout=15_000)
                await expect(alarms).to_contain_text(str(disk / "farm.sqlite"))
                await screenshot(page, "farm-alarm-disk-full")
                filler.unlink()
                await expect(alarms).to_have_count(0, timeout=15_000)
                await submit_echo_sleep(client)
            await page.close()
        finally:
            await process.stop()
