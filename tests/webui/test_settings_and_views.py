"""The settings page edits and saves the configuration file; screenshots of the other views."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
import pytest
import yaml
from PIL import Image

from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


async def test_settings_are_validated_and_saved(manager: ManagerProcess, page: Any) -> None:
    await page.goto(manager.base_url + "/app/settings")
    view = page.get_by_test_id("settings-view")
    name = view.get_by_label("Manager name")
    await expect(name).to_have_value("End-to-end Farm")
    await name.fill("Renamed Farm")

    await view.get_by_role("tab", name="Timeouts & failures").click()
    timeout = view.get_by_label("Task timeout")
    await timeout.fill("ten minutes")
    await expect(timeout).to_have_attribute("aria-invalid", "true")
    await expect(view).to_contain_text("Use a duration like")
    await view.get_by_test_id("settings-save").click()
    await expect(view.get_by_role("alert")).to_contain_text("not valid")
    await timeout.fill("15m")

    await view.get_by_role("tab", name="Variables").click()
    await view.get_by_test_id("new-variable-name").fill("storage")
    await view.get_by_role("button", name="Add variable").click()
    await view.get_by_label("storage value 1", exact=True).fill("/mnt/farm")
    await (
        view.get_by_role("region", name="Variable storage")
        .get_by_role("switch", name="Two-way")
        .check()
    )
    await screenshot(page, "settings-view")

    await view.get_by_test_id("settings-save").click()
    await expect(view.get_by_test_id("settings-saved")).to_contain_text("Restart the Manager")
    written = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    assert written["manager_name"] == "Renamed Farm"
    assert written["task_timeout"] in ("15m", "15m0s")
    assert written["variables"]["storage"]["is_twoway"] is True
    assert written["variables"]["storage"]["values"] == [{"platform": "all", "value": "/mnt/farm"}]


async def test_last_rendered_view_and_narrow_screen(
    manager: ManagerProcess, page: Any, api: ApiClient
) -> None:
    await page.goto(manager.base_url + "/app/last-rendered")
    view = page.get_by_test_id("last-rendered")
    await expect(view).to_contain_text("Nothing rendered yet")
    await screenshot(page, "last-rendered-view-empty")

    # A laptop screen: the jobs view is still usable, and a missing page says so.
    await page.set_viewport_size({"width": 1280, "height": 720})
    await page.goto(manager.base_url + "/app/jobs")
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    await screenshot(page, "jobs-view-empty-laptop")
    # A wall monitor: larger text, still the whole layout.
    await page.set_viewport_size({"width": 2560, "height": 1440})
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    font_size = await page.evaluate("() => getComputedStyle(document.body).fontSize")
    assert font_size == "18px"
    await screenshot(page, "jobs-view-empty-wall-monitor")
    await page.goto(manager.base_url + "/app/no-such-page")
    await expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()

    # A Worker uploads a frame; the view shows it without a reload.
    await page.goto(manager.base_url + "/app/last-rendered")
    async with aiohttp.ClientSession() as session:
        worker = WorkerSession(SpecCheckedClient(session, manager.base_url))
        await worker.start()
        await api.submit_echo_job("render me")
        task = await worker.next_task()
        frame = io.BytesIO()
        Image.new("RGB", (320, 180), (30, 120, 200)).save(frame, "PNG")
        await worker.client.post(
            f"/api/v3/worker/task/{task['uuid']}/output-produced",
            data=frame.getvalue(),
            headers={"Content-Type": "image/png"},
            auth=worker.auth,
            expect=202,
        )
    image = view.get_by_role("img")
    await expect(image).to_have_attribute("src", re.compile(r"last-rendered\.jpg"), timeout=10_000)
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 320
    await screenshot(page, "last-rendered-view")
