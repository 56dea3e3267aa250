"""After its connection comes back, the web interface shows what it missed meanwhile.

Live events can be lost (a Manager restart, Redis between Manager processes
dropping messages), so the page reloads what it shows over REST on reconnect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess
from webui.helpers import ApiClient

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


async def test_a_job_submitted_while_the_page_was_cut_off_appears_after_the_reconnect(
    manager: ManagerProcess, page: Any, tmp_path: Path, database_setting: str
) -> None:
    await page.goto(manager.base_url + "/app/")
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    await manager.stop()
    await expect(page.get_by_text("Connection lost, reconnecting")).to_be_visible()

    # Another Manager on the same database takes a job while the page's is away.
    database = (
        database_setting if "://" in database_setting else str(manager.directory / database_setting)
    )
    stand_in = ManagerProcess(tmp_path / "stand-in", tmp_path / "shared", database=database)
    await stand_in.start()
    async with aiohttp.ClientSession() as session:
        await ApiClient(session, stand_in.base_url).submit_echo_job("made while away")
    await stand_in.stop()

    await manager.start()
    row = page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text="made while away")
    await expect(row).to_contain_text("queued", timeout=20_000)
