"""Job dependencies and approval gates in the web interface, with a real Worker running the jobs."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from api.test_approvals import GATED_JOB_TYPE
from support.manager_process import ManagerProcess, WorkerProcess
from webui.helpers import ApiClient, screenshot
from worker.test_end_to_end import make_scene, needs_blender, render_job

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


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@needs_blender
@pytest.mark.timeout(240)
async def test_approved_preview_releases_the_final_render(
    page: Any, manager: ManagerProcess, worker: WorkerProcess, api: ApiClient, tmp_path: Path
) -> None:
    blendfile = make_scene(tmp_path / "scene", frames=4, samples=1)
    output_root = tmp_path / "render"
    body = render_job(blendfile, output_root, frames="1-4", chunk_size=2)
    body.update(name="shot preview", type="preview-then-final")
    body["settings"].update(preview_every_nth=2, preview_resolution_percentage=50)
    job = await api.call("POST", "/api/v3/jobs", body)
    worker.start()
    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    notice = page.get_by_test_id("approval-notice")
    await expect(notice).to_be_visible(timeout=120_000)

    # The preview is there, small, and nothing of the final render yet.
    previews = sorted(output_root.glob("e2e/*/preview/*.png"))
    assert [frame.name for frame in previews] == ["000001.png", "000003.png"]
    assert _png_size(previews[0]) == (32, 18)
    assert not list(output_root.glob("e2e/*/*.png"))

    await notice.get_by_role("link", name="approve-preview").click()
    panel = page.get_by_test_id("approval-panel")
    await panel.get_by_role("button", name="Approve").click()
    await expect(panel).to_contain_text("Approved", timeout=10_000)
    row = page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text="shot preview")
    await expect(row).to_contain_text("completed", timeout=120_000)
    finals = sorted(output_root.glob("e2e/*/*.png"))
    assert [frame.name for frame in finals] == [f"{n:06d}.png" for n in range(1, 5)]
    assert _png_size(finals[0]) == (64, 36)
    await screenshot(page, "preview-then-final-approved")
