"""The frame strip of a job: rendered, missing and running frames, thumbnails, re-rendering."""

from __future__ import annotations

import base64
import io
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from flamenco.frame_checks import expected
from support.jobs import blender_render_job
from support.manager_process import ManagerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


class FakeWorker:
    """A Worker over HTTP that "renders" by writing the PNG files its tasks name."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secrets.token_hex(8)
        self.headers: dict[str, str] = {}

    async def call(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.post(
            self.base_url + path, json=body, headers=self.headers
        ) as response:
            data = await response.json() if response.status == 200 else None
            assert response.status < 400, await response.text()
            return response.status, data

    async def start(self) -> None:
        types = ["blender", "ffmpeg", "file-management", "misc"]
        _, registered = await self.call(
            "/api/v3/worker/register-worker",
            {
                "name": "strip",
                "platform": "linux",
                "secret": self.secret,
                "supported_task_types": types,
            },
        )
        token = base64.b64encode(f"{registered['uuid']}:{self.secret}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        _, answer = await self.call(
            "/api/v3/worker/sign-on",
            {"name": "strip", "supported_task_types": types, "software_version": "3.9"},
        )
        await self.call("/api/v3/worker/state-changed", {"status": answer["status_requested"]})

    async def take(self) -> dict[str, Any] | None:
        status, task = await self.call("/api/v3/worker/task")
        return task if status == 200 else None

    async def finish(self, task: dict[str, Any], black: frozenset[int] = frozenset()) -> None:
        for output in expected.blender_render_outputs(task["commands"]):
            for frame, path in output.paths():
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                buffer = io.BytesIO()
                colour = (0, 0, 0) if frame in black else (40 * frame % 256, 120, 200)
                Image.new("RGB", (64, 36), colour).save(buffer, "PNG")
                Path(path).write_bytes(buffer.getvalue())
        await self.call(f"/api/v3/worker/task/{task['uuid']}", {"taskStatus": "completed"})


def cell(page: Any, frame: int) -> Any:
    return page.get_by_test_id("frame-strip").get_by_role("listitem").nth(frame - 1)


async def test_frame_strip_shows_missing_frames_and_rerenders_them(
    manager: ManagerProcess, page: Any, api: ApiClient, tmp_path: Path
) -> None:
    output = tmp_path / "shared" / "frames"
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        blender_render_job(
            name="strip job",
            frames="1-6",
            chunk_size=2,
            render_output_root=str(output),
            render_output_path=str(output / "shot" / "{timestamp}" / "######"),
        ),
    )
    worker = FakeWorker(api.session, manager.base_url)
    await worker.start()
    while (task := await worker.take()) is not None:
        await worker.finish(task)
    (folder,) = list((output / "shot").iterdir())
    (folder / "000003.png").unlink()

    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    strip = page.get_by_test_id("frame-strip")
    await expect(strip.get_by_role("listitem")).to_have_count(6)
    await expect(page.get_by_test_id("frame-summary")).to_have_text("5 rendered · 1 missing")
    await expect(cell(page, 3)).to_have_attribute("data-state", "missing")
    await expect(cell(page, 3)).to_have_attribute(
        "aria-label", "Frame 3: missing: the file does not exist"
    )
    await expect(cell(page, 2)).to_have_attribute("data-state", "rendered")

    # Hovering a rendered frame shows its thumbnail, made by the Manager.
    await cell(page, 2).hover()
    preview = page.get_by_test_id("frame-preview")
    await expect(preview).to_contain_text("Frame 2: rendered")
    thumbnail = preview.get_by_role("img")
    await expect(thumbnail).to_be_visible()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=frame-preview] img')?.naturalWidth > 0"
    )
    await screenshot(page, "frame-strip")

    await page.get_by_test_id("rerender-missing").click()
    await expect(cell(page, 3)).to_have_attribute("data-state", "waiting")
    await page.get_by_role("button", name="History").click()
    await expect(page.get_by_role("tabpanel", name="Notifications")).to_contain_text(
        "Re-rendering 1 frame: 2 tasks queued again."
    )
    tasks = (await api.call("GET", f"/api/v3/jobs/{job['id']}/tasks"))["tasks"]
    assert sorted(task["status"] for task in tasks) == [
        "completed",
        "completed",
        "queued",
        "queued",
    ]

    # Taken by a Worker: the frame is being rendered.
    task = await worker.take()
    assert task is not None
    await expect(cell(page, 3)).to_have_attribute("data-state", "rendering", timeout=10_000)
    await worker.finish(task)
    await expect(cell(page, 3)).to_have_attribute("data-state", "rendered", timeout=10_000)
    await expect(page.get_by_test_id("rerender-missing")).to_be_disabled()


async def test_frame_strip_marks_black_frames_when_the_job_asks(
    manager: ManagerProcess, page: Any, api: ApiClient, tmp_path: Path
) -> None:
    output = tmp_path / "shared" / "frames"
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        blender_render_job(
            name="black frames",
            frames="1-3",
            chunk_size=3,
            render_output_root=str(output),
            render_output_path=str(output / "{timestamp}" / "######"),
            warn_black_frames=True,
        ),
    )
    worker = FakeWorker(api.session, manager.base_url)
    await worker.start()
    while (task := await worker.take()) is not None:
        await worker.finish(task, black=frozenset({2}))

    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    await expect(page.get_by_test_id("frame-summary")).to_have_text("3 rendered · 1 warning")
    await expect(cell(page, 2)).to_have_attribute("data-warning", "yes")
    await expect(cell(page, 2)).to_have_attribute(
        "aria-label", "Frame 2: rendered (warning: frame 2: every pixel is black)"
    )
    await expect(cell(page, 1)).not_to_have_attribute("data-warning", "yes")
    # A warning is no reason to render again.
    await expect(page.get_by_test_id("rerender-missing")).to_be_disabled()
