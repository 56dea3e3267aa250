"""Workers and tags from the web interface: tag CRUD, tag switches, status requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from support.manager_process import ManagerProcess, WorkerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


async def test_tags_and_worker_actions(
    manager: ManagerProcess, page: Any, worker: WorkerProcess, api: ApiClient
) -> None:
    worker.start()
    await page.goto(manager.base_url + "/app/tags")
    tags = page.get_by_test_id("tags-view")
    await expect(tags).to_contain_text("A job without a tag goes to any Worker")

    await page.get_by_test_id("new-tag-name").fill("gpu")
    await page.get_by_test_id("new-tag-description").fill("Machines with a graphics card")
    await page.get_by_role("button", name="Create tag").click()
    await expect(page.get_by_label("Name of tag gpu")).to_have_value("gpu")
    await page.get_by_label("Name of tag gpu").fill("cuda")
    await page.get_by_label("Name of tag gpu").press("Enter")
    await expect(page.get_by_label("Name of tag cuda")).to_be_visible()
    stored = (await api.call("GET", "/api/v3/worker-mgt/tags"))["tags"]
    assert [(tag["name"], tag["description"]) for tag in stored] == [
        ("cuda", "Machines with a graphics card")
    ]
    await screenshot(page, "tags-view")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Workers").click()
    row = (
        page.get_by_test_id("workers-table")
        .get_by_role("row")
        .filter(has_text="browser-test-worker")
    )
    status = row.locator(".status-text")
    await expect(status).to_have_text("awake", timeout=20_000)
    await row.click()
    details = page.get_by_test_id("worker-details")
    await expect(details).to_contain_text("linux")

    await details.get_by_role("switch", name="cuda").check()
    await expect(details).to_contain_text("only picks up jobs with one of its tags")
    worker_id = (await api.call("GET", "/api/v3/worker-mgt/workers"))["workers"][0]["id"]
    info = await api.call("GET", f"/api/v3/worker-mgt/workers/{worker_id}")
    assert [tag["name"] for tag in info["tags"]] == ["cuda"]

    # A sleep schedule, stored but switched off so that the Worker stays awake.
    schedule = page.get_by_test_id("sleep-schedule")
    await expect(schedule).to_contain_text("This Worker has no sleep schedule.")
    await schedule.get_by_role("button", name="Set up a schedule").click()
    await schedule.get_by_role("switch").uncheck()
    await schedule.get_by_label("Days").fill("Sa su")
    await schedule.get_by_label("Start").fill("01:00")
    await schedule.get_by_label("End").fill("02:30")
    await schedule.get_by_role("button", name="Save").click()
    await expect(schedule).to_contain_text("02:30")
    stored = await api.call("GET", f"/api/v3/worker-mgt/workers/{worker_id}/sleep-schedule")
    assert stored == {
        "is_active": False,
        "days_of_week": "sa su",
        "start_time": "01:00",
        "end_time": "02:30",
    }

    await page.get_by_test_id("worker-action").select_option(label="Send to sleep immediately")
    await page.get_by_role("button", name="Apply").click()
    await expect(row).to_contain_text("➜ asleep")
    await expect(status).to_have_text("asleep", timeout=20_000)
    await expect(row).not_to_contain_text("➜")
    await screenshot(page, "workers-view")

    await page.get_by_test_id("worker-action").select_option(label="Wake up")
    await page.get_by_role("button", name="Apply").click()
    await expect(status).to_have_text("awake", timeout=20_000)
    await expect(row).not_to_contain_text("➜")

    await page.get_by_test_id("worker-action").select_option(label="Shut down after current task")
    await page.get_by_role("button", name="Apply").click()
    await expect(status).to_have_text("offline", timeout=20_000)
    assert worker.process is not None
    assert await asyncio.wait_for(asyncio.to_thread(worker.process.wait), 20) == 0

    # Deleting the tag takes it away from the Worker too.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Tags").click()
    await page.get_by_role("button", name="Delete tag cuda").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("No tags yet")).to_be_visible()
