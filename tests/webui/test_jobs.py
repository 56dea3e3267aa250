"""The jobs view in a real browser, against a real Manager and Worker: jobs appear,
progress and complete live, and the task log follows the task as it runs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from support.manager_process import ManagerProcess, WorkerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


def job_row(page: Any, name: str) -> Any:
    return page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text=name)


async def test_empty_farm_explains_how_to_get_the_addon(manager: ManagerProcess, page: Any) -> None:
    await page.goto(manager.base_url + "/app/")
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    link = page.get_by_role("link", name="Download the add-on")
    await expect(link).to_have_attribute("href", "/flamenco-addon.zip")
    await expect(page.get_by_test_id("farm-status")).to_contain_text("inoperative")


async def test_job_appears_progresses_and_completes_live(
    page: Any, manager: ManagerProcess, worker: WorkerProcess, api: ApiClient
) -> None:
    # Socket.IO events, as the page receives them over its WebSocket.
    event_frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda frame: event_frames.append(frame) if str(frame).startswith("42") else None,
        ),
    )
    await page.goto(manager.base_url + "/app/")
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()

    job = await api.submit_echo_job("live job", sleep_seconds=2, repeats=1)
    row = job_row(page, "live job")
    await expect(row).to_contain_text("queued")
    await row.click()
    await expect(page).to_have_url(f"{manager.base_url}/app/jobs/{job['id']}")
    details = page.get_by_test_id("job-details")
    await expect(details.get_by_role("heading", name="live job")).to_be_visible()
    await expect(details).to_contain_text("hello from live job")

    # Choose the sleep task and follow its log before any Worker runs it.
    tasks = page.get_by_test_id("tasks-table")
    await tasks.get_by_role("row").filter(has_text="sleep").click()
    await expect(page.get_by_test_id("task-details")).to_contain_text("duration_in_seconds")
    await page.get_by_role("button", name="Follow task log").click()
    log = page.get_by_test_id("task-log")

    worker.start()
    await expect(row).to_contain_text("active", timeout=20_000)
    await expect(log).to_contain_text("browser-test-worker", timeout=20_000)
    await expect(tasks.get_by_role("row").filter(has_text="sleep")).to_contain_text("active")
    await screenshot(page, "jobs-view-running")

    await expect(row).to_contain_text("completed", timeout=20_000)
    await expect(log).to_contain_text("completed")
    progress = row.get_by_role("progressbar")
    await expect(progress).to_have_attribute("aria-valuenow", "2")
    sleep_task = await _task_id(api, job, "sleep")
    full_log = page.get_by_role("link", name="Open full log")
    await expect(full_log).to_have_attribute("href", re.compile(re.escape(sleep_task)))
    await screenshot(page, "jobs-view-completed")
    # The page asked for batched events: every event came inside a /batch message.
    assert event_frames
    assert all(frame.startswith('42["/batch",') for frame in event_frames), event_frames[:3]


async def _task_id(api: ApiClient, job: dict[str, Any], name: str) -> str:
    tasks = (await api.call("GET", f"/api/v3/jobs/{job['id']}/tasks"))["tasks"]
    return str(next(task["id"] for task in tasks if task["name"] == name))
