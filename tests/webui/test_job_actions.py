"""Job and task actions from the web interface: multi-select, pause, requeue, cancel, delete."""

from __future__ import annotations

from typing import Any

import pytest

from support.manager_process import ManagerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


def job_row(page: Any, name: str) -> Any:
    return page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text=name)


async def test_pause_requeue_cancel_and_delete_selected_jobs(
    manager: ManagerProcess, page: Any, api: ApiClient
) -> None:
    # No Worker runs: the jobs stay queued until the buttons change them.
    for index in range(3):
        await api.submit_echo_job(f"batch {index}", repeats=2)
    await api.submit_echo_job("bystander")
    await page.goto(manager.base_url + "/app/")
    actions = page.get_by_role("toolbar", name="Actions on the selected jobs")

    # Click one, Shift-click another: the range between them is selected.
    await job_row(page, "batch 0").click()
    await job_row(page, "batch 2").click(modifiers=["Shift"])
    for index in range(3):
        await expect(job_row(page, f"batch {index}")).to_have_attribute("aria-selected", "true")
    await expect(job_row(page, "bystander")).to_have_attribute("aria-selected", "false")

    await actions.get_by_role("button", name="Pause").click()
    for index in range(3):
        await expect(job_row(page, f"batch {index}")).to_contain_text("paused")
    await expect(job_row(page, "bystander")).to_contain_text("queued")
    await page.get_by_role("button", name="History").click()
    await expect(page.get_by_role("tabpanel", name="Notifications")).to_contain_text(
        "3 jobs successfully marked for pausing"
    )

    await actions.get_by_role("button", name="Requeue").click()
    for index in range(3):
        await expect(job_row(page, f"batch {index}")).to_contain_text("queued")

    # Ctrl-click takes one job out of the selection again.
    await job_row(page, "batch 1").click(modifiers=["Control"])
    await expect(job_row(page, "batch 1")).to_have_attribute("aria-selected", "false")
    await actions.get_by_role("button", name="Cancel").click()
    await expect(job_row(page, "batch 0")).to_contain_text("canceled")
    await expect(job_row(page, "batch 2")).to_contain_text("canceled")
    await expect(job_row(page, "batch 1")).to_contain_text("queued")

    await actions.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Delete 2 jobs?")
    await expect(dialog).to_contain_text("Shaman")
    await screenshot(page, "jobs-delete-confirmation")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(job_row(page, "batch 0")).to_have_count(0, timeout=15_000)
    await expect(job_row(page, "batch 2")).to_have_count(0)
    await expect(job_row(page, "batch 1")).to_have_count(1)
    remaining = {job["name"] for job in (await api.call("GET", "/api/v3/jobs"))["jobs"]}
    assert remaining == {"batch 1", "bystander"}


async def test_task_actions_and_priority(
    manager: ManagerProcess, page: Any, api: ApiClient
) -> None:
    job = await api.submit_echo_job("task actions", repeats=3)
    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    tasks = page.get_by_test_id("tasks-table")
    await expect(tasks.get_by_role("row")).to_have_count(5)  # header and four tasks

    task_actions = page.get_by_role("toolbar", name="Actions on the selected tasks")
    await tasks.get_by_role("row").filter(has_text="echo").click()
    await task_actions.get_by_role("button", name="Cancel task").click()
    echo_row = tasks.get_by_role("row").filter(has_text="echo")
    await expect(echo_row).to_contain_text("canceled")
    await task_actions.get_by_role("button", name="Requeue task").click()
    await expect(echo_row).to_contain_text("queued")

    details = page.get_by_test_id("job-details")
    await details.get_by_role("tab", name="Details").click()
    await details.get_by_test_id("job-priority").fill("80")
    await details.get_by_role("button", name="Set priority").click()
    await expect(job_row(page, "task actions")).to_contain_text("80")
    assert (await api.call("GET", f"/api/v3/jobs/{job['id']}"))["priority"] == 80
