"""Job dependencies and approval gates in the web interface, with a real Worker running the jobs."""

from __future__ import annotations

from typing import Any

import pytest

from api.test_approvals import GATED_JOB_TYPE
from support.manager_process import ManagerProcess, WorkerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


async def test_dependencies_are_linked_and_the_waiting_reason_clears(
    page: Any, manager: ManagerProcess, worker: WorkerProcess, api: ApiClient
) -> None:
    bake = await api.submit_echo_job("bake sim", repeats=1)
    render = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            "name": "render shot",
            "type": "echo-sleep-test",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "render", "sleep_duration_seconds": 1, "sleep_repeats": 1},
            "depends_on": [bake["id"]],
        },
    )
    await page.goto(f"{manager.base_url}/app/jobs/{render['id']}")
    graph = page.get_by_test_id("job-graph")
    await expect(graph.get_by_test_id("waiting-reason")).to_contain_text(
        'Waiting: Waiting for dependency "bake sim"'
    )
    await expect(graph.get_by_test_id("job-depends-on")).to_contain_text("bake sim")
    await screenshot(page, "job-graph-waiting")

    worker.start()
    details = page.get_by_test_id("job-details")
    await expect(details).to_contain_text("All dependencies completed", timeout=20_000)
    await expect(graph.get_by_test_id("waiting-reason")).to_have_count(0)
    row = page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text="render shot")
    await expect(row).to_contain_text("completed", timeout=20_000)

    # The link leads to the dependency, which lists the render as its dependent.
    await graph.get_by_role("link", name="bake sim").click()
    await expect(page).to_have_url(f"{manager.base_url}/app/jobs/{bake['id']}")
    await expect(page.get_by_test_id("job-dependents")).to_contain_text("render shot")


async def test_approving_in_the_browser_releases_the_final_part(
    page: Any, manager: ManagerProcess, worker: WorkerProcess, api: ApiClient
) -> None:
    scripts = manager.directory / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "gated_echo.js").write_text(GATED_JOB_TYPE, encoding="utf-8")
    job = await _submit_gated(api, "gated shot")
    tasks = {task["name"]: task for task in await _tasks(api, job)}
    worker.start()
    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    notice = page.get_by_test_id("approval-notice")
    await expect(notice).to_contain_text("approve", timeout=20_000)

    await notice.get_by_role("link", name="approve").click()
    await expect(page).to_have_url(
        f"{manager.base_url}/app/jobs/{job['id']}/{tasks['approve']['id']}"
    )
    panel = page.get_by_test_id("approval-panel")
    await page.get_by_test_id("approval-comment").fill("lovely")
    await screenshot(page, "approval-pending")
    await panel.get_by_role("button", name="Approve").click()
    await expect(panel).to_contain_text("Approved", timeout=10_000)
    row = page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text="gated shot")
    await expect(row).to_contain_text("completed", timeout=20_000)
    after = next(task for task in await _tasks(api, job) if task["name"] == "after")
    assert after["status"] == "completed"

    # A second job, rejected with a reason: it fails, and its final part never runs.
    rejected = await _submit_gated(api, "gated retake")
    approval = next(task for task in await _tasks(api, rejected) if task["name"] == "approve")
    await page.goto(f"{manager.base_url}/app/jobs/{rejected['id']}/{approval['id']}")
    panel = page.get_by_test_id("approval-panel")
    # Until the Worker has run the task before it, there is nothing to decide yet.
    await expect(panel.get_by_role("button", name="Approve")).to_be_visible(timeout=20_000)
    await panel.get_by_role("button", name="Reject…").click()
    await page.get_by_test_id("reject-reason").fill("the horse is green")
    await panel.get_by_role("button", name="Reject", exact=True).click()
    await expect(panel).to_contain_text("the horse is green", timeout=10_000)
    fetched = await api.call("GET", f"/api/v3/jobs/{rejected['id']}")
    assert fetched["status"] == "failed"
    statuses = {task["name"]: task["status"] for task in await _tasks(api, rejected)}
    assert statuses == {"before": "completed", "approve": "failed", "after": "canceled"}


async def _submit_gated(api: ApiClient, name: str) -> dict[str, Any]:
    job: dict[str, Any] = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            "name": name,
            "type": "gated-echo",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {},
        },
    )
    return job


async def _tasks(api: ApiClient, job: dict[str, Any]) -> list[dict[str, Any]]:
    reply = await api.call("GET", f"/api/v3/jobs/{job['id']}/tasks")
    tasks: list[dict[str, Any]] = reply["tasks"]
    return tasks
