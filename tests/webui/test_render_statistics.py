"""Render statistics in a real browser: a job's frame-time chart and estimated end, the farm's
utilisation timeline, drawn by the vendored uPlot from what a Worker reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect

LOGS = Path(__file__).parents[1] / "unit" / "manager" / "blender_logs"


def blender_log(name: str) -> str:
    text = (LOGS / name).read_text(encoding="utf-8")
    return "".join(f"pid=4242 > {line}\n" for line in text.splitlines())


async def a_job_half_rendered(manager: ManagerProcess, api: ApiClient) -> dict[str, Any]:
    """A job whose first task rendered two frames and completed, and whose second runs;
    the Worker's ID goes into the job as `worker_id`."""
    job = await api.submit_echo_job("statistics job", repeats=2)
    async with aiohttp.ClientSession() as session:
        worker = WorkerSession(SpecCheckedClient(session, manager.base_url), name="chart-worker")
        await worker.start()
        first = await worker.next_task()
        await worker.update(first["uuid"], log=blender_log("cycles-3.4.1.txt"))
        await worker.update(first["uuid"], taskStatus="completed")
        second = await worker.next_task()
        await worker.update(second["uuid"], log=blender_log("eevee-3.4.1.txt"))
    return {**job, "worker_id": worker.uuid}


async def test_job_frame_chart_and_estimated_end(
    page: Any, manager: ManagerProcess, api: ApiClient
) -> None:
    job = await a_job_half_rendered(manager, api)
    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    details = page.get_by_test_id("job-details")
    await expect(details.get_by_test_id("job-eta")).to_contain_text("left")

    await details.get_by_role("tab", name="Statistics").click()
    statistics = page.get_by_test_id("job-statistics")
    await expect(statistics.get_by_test_id("job-estimate")).to_contain_text("Estimated to finish")
    await expect(statistics).to_contain_text("Frames rendered")
    chart = statistics.get_by_test_id("frame-chart")
    # uPlot drew its canvas, with a legend naming both series.
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart.locator(".u-legend")).to_contain_text("Render time")
    await expect(chart.locator(".u-legend")).to_contain_text("Peak memory")
    box = await chart.locator("canvas").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    slowest = statistics.get_by_test_id("slowest-frames").get_by_role("row")
    await expect(slowest).to_have_count(5)  # a header and four frames
    await expect(slowest.nth(1)).to_contain_text("5.0 s")  # EEVEE's first frame, 4.97 s
    csv_link = statistics.get_by_role("link", name="frames")
    await expect(csv_link).to_have_attribute(
        "href", f"/api/v3/statistics/jobs/{job['id']}?format=csv"
    )
    await screenshot(page, "job-statistics")


async def test_farm_utilisation_timeline(
    page: Any, manager: ManagerProcess, api: ApiClient
) -> None:
    job = await a_job_half_rendered(manager, api)
    await page.goto(f"{manager.base_url}/app/workers/{job['worker_id']}")
    await expect(page.get_by_test_id("worker-busy")).to_contain_text("% of the last 24 hours")
    await page.get_by_role("link", name="Statistics").click()
    view = page.get_by_test_id("farm-statistics")
    await expect(view.get_by_role("heading", name="Farm utilisation")).to_be_visible()
    chart = view.get_by_test_id("utilisation-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart.locator(".u-legend")).to_contain_text("Busy Workers")
    await expect(chart.locator(".u-legend")).to_contain_text("chart-worker")
    await expect(view.get_by_test_id("worker-utilisation")).to_contain_text("chart-worker")
    await view.get_by_role("button", name="Last hour").click()
    await expect(view.get_by_role("button", name="Last hour")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(chart.locator("canvas")).to_have_count(1)
    await screenshot(page, "farm-utilisation")
