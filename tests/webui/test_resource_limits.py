"""Resource limits and the scheduling explainer in the web interface, kept live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.limits import COMP_TASK_TYPES, licensed_comp_job, write_licensed_comp_job_type
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


@pytest.fixture
async def manager(tmp_path: Path, database_setting: str) -> AsyncIterator[ManagerProcess]:
    """A Manager with one nuke licence and a job type whose comp tasks take it."""
    write_licensed_comp_job_type(tmp_path / "scripts")
    process = ManagerProcess(
        tmp_path / "manager",
        tmp_path / "shared",
        database=database_setting,
        resource_limits="{nuke-licence: 1}",
        job_scripts_path=str(tmp_path / "scripts"),
    )
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_explanation_limits_and_max_workers_live(
    manager: ManagerProcess, page: Any, api: ApiClient
) -> None:
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        licensed_comp_job(name="comp shot", tasks=3, initial_status="paused"),
    )
    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    explanation = page.get_by_test_id("job-explanation")
    await expect(explanation).to_contain_text("the job is paused")
    limits = page.get_by_test_id("resource-limits")
    await expect(limits).to_contain_text("nuke-licence")
    await expect(limits).to_contain_text("0/1")

    # Queued, but no Worker yet: the answer follows the job's change by itself.
    await api.call(
        "POST", f"/api/v3/jobs/{job['id']}/setstatus", {"status": "requeueing", "reason": "go"}
    )
    await expect(explanation).to_contain_text("no Worker is known")

    async with aiohttp.ClientSession() as session:
        client = SpecCheckedClient(session, manager.base_url)
        worker = WorkerSession(client, name="comp-node", task_types=COMP_TASK_TYPES)
        await worker.start()
        # An idle capable Worker: nothing holds the job back.
        await expect(explanation).to_have_count(0)
        await worker.next_task()
        await expect(limits).to_contain_text("1/1")
        # The licence is taken: a second job waits for it, and says so.
        waiting = await api.call("POST", "/api/v3/jobs", licensed_comp_job(name="waiting comp"))
        await page.goto(f"{manager.base_url}/app/jobs/{waiting['id']}")
        await expect(page.get_by_test_id("job-explanation")).to_contain_text(
            "limit nuke-licence exhausted: 1 of 1 in use"
        )
        await screenshot(page, "resource-limits-explanation")

        # Max workers from the Details tab.
        await page.get_by_role("tab", name="Details").click()
        await page.get_by_test_id("job-max-workers").fill("2")
        await page.get_by_test_id("job-max-workers").press("Enter")
        await expect(page.get_by_role("tabpanel")).to_be_visible()
        for _ in range(50):
            fetched = await api.call("GET", f"/api/v3/jobs/{waiting['id']}")
            if fetched.get("max_workers") == 2:
                break
            await page.wait_for_timeout(100)
        assert fetched["max_workers"] == 2
        await page.get_by_test_id("job-max-workers").fill("")
        await page.get_by_test_id("job-max-workers").press("Enter")
        for _ in range(50):
            fetched = await api.call("GET", f"/api/v3/jobs/{waiting['id']}")
            if "max_workers" not in fetched:
                break
            await page.wait_for_timeout(100)
        assert "max_workers" not in fetched
