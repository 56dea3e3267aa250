"""`python -m flamenco.worker` against a real Manager: Blender, FFmpeg, restarts, cancels."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess, WorkerProcess, child_processes
from support.render_scene import make_scene
from support.render_scene import render_job as scene_render_job

pytestmark = pytest.mark.slow

needs_blender = pytest.mark.skipif(
    shutil.which("blender") is None or shutil.which("ffmpeg") is None,
    reason="needs blender and ffmpeg on the PATH",
)


def render_job(
    blendfile: Path, output_root: Path, *, frames: str, chunk_size: int
) -> dict[str, Any]:
    """The tiny scene's render job, writing under `output_root / "e2e"`."""
    return scene_render_job(
        blendfile, output_root, frames=frames, chunk_size=chunk_size, name="e2e"
    )


class Api:
    """Just enough of the API to submit jobs and watch them, over HTTP."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.base_url + path, json=body) as response:
            assert response.status < 300, (
                f"{method} {path}: {response.status} {await response.text()}"
            )
            return await response.json() if response.status == 200 else None

    async def text(self, path: str) -> str:
        async with self.session.get(self.base_url + path) as response:
            return await response.text() if response.status == 200 else ""

    async def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = await self.call("GET", f"/api/v3/jobs/{job_id}")
        return job

    async def tasks(self, job_id: str) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = (await self.call("GET", f"/api/v3/jobs/{job_id}/tasks"))[
            "tasks"
        ]
        return tasks

    async def task_log(self, task_id: str) -> str:
        async with self.session.get(self.base_url + f"/api/v3/tasks/{task_id}/log") as response:
            if response.status != 200:
                return ""
            url = (await response.json())["url"]
        return await self.text(url)

    async def wait_for(
        self, job_id: str, status: str, timeout: float, worker: WorkerProcess
    ) -> None:
        deadline = time.monotonic() + timeout
        while (await self.job(job_id))["status"] != status:
            if time.monotonic() > deadline:
                job = await self.job(job_id)
                raise AssertionError(
                    f"job is {job['status']}, not {status}\n--- worker log:\n{worker.log()[-6000:]}"
                )
            await asyncio.sleep(0.25)


@pytest.fixture
async def session() -> Any:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@needs_blender
@pytest.mark.timeout(110)
async def test_blender_render_job_makes_frames_and_video(
    manager: Any, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    blendfile = make_scene(tmp_path / "scene", frames=4, samples=2)
    output_root = tmp_path / "render"
    api = Api(session, manager.base_url)
    job = await api.call(
        "POST", "/api/v3/jobs", render_job(blendfile, output_root, frames="1-4", chunk_size=2)
    )
    worker = WorkerProcess(tmp_path / "worker", manager.base_url)
    worker.start()
    try:
        await api.wait_for(job["id"], "completed", 90, worker)
    finally:
        exit_code = await worker.stop()
    assert exit_code == 1  # stopped by a signal, as upstream

    frames = sorted(output_root.glob("e2e/*/*.png"))
    assert [frame.name for frame in frames] == [f"{n:06d}.png" for n in range(1, 5)]
    assert frames[0].read_bytes().startswith(b"\x89PNG")
    videos = list(output_root.glob("e2e/*/scene-1-4.mp4"))
    assert len(videos) == 1, worker.log()[-4000:]
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0",
         str(videos[0])],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "h264,64,36,4"

    finished = await api.job(job["id"])
    assert finished["steps_completed"] == finished["steps_total"] == 4 + 1
    renders = [task for task in await api.tasks(job["id"]) if task["name"].startswith("render-")]
    assert len(renders) == 2
    render_log = await api.task_log(renders[0]["id"])
    assert "going to run:" in render_log
    assert "Saved: '" in render_log and "000002.png'" in render_log
    assert "task changed status active -> completed" in render_log
    # Each saved frame was offered to the Manager as the last rendered image.
    assert "output uploader: Manager" in worker.log()

    # Render statistics: the Manager read each frame's time and peak memory from the log.
    statistics = await api.call("GET", f"/api/v3/statistics/jobs/{job['id']}")
    assert [frame["frame"] for frame in statistics["frames"]] == [1, 2, 3, 4]
    assert all(
        frame["render_seconds"] >= frame["saving_seconds"] >= 0 for frame in statistics["frames"]
    )
    assert all(frame["peak_memory_bytes"] > 1024 * 1024 for frame in statistics["frames"])
    assert {frame["task_id"] for frame in statistics["frames"]} == {task["id"] for task in renders}
    assert statistics["totals"]["task_runs"] == 3  # two render tasks and the video
    assert statistics["estimate"] is None  # the job is done
    runs = (await api.call("GET", f"/api/v3/statistics/jobs/{job['id']}/task-runs"))["runs"]
    assert {(run["status"], run["worker_name"]) for run in runs} == {("completed", "e2e-worker")}
    assert all(run["running_seconds"] > 0 for run in runs)


@pytest.mark.timeout(110)
async def test_manager_killed_mid_task_loses_no_update(
    session: aiohttp.ClientSession, tmp_path: Path, database_setting: str
) -> None:
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared", database=database_setting)
    await manager.start()
    api = Api(session, manager.base_url)
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            "name": "survives a Manager restart",
            "type": "echo-sleep-test",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "before", "sleep_duration_seconds": 4, "sleep_repeats": 1},
            "metadata": {},
        },
    )
    worker = WorkerProcess(tmp_path / "worker", manager.base_url)
    worker.start()
    try:
        await kill_and_restart_during_sleep(api, manager, worker, job["id"])
        await api.wait_for(job["id"], "completed", 60, worker)
        await worker.stop()
        tasks = {task["name"]: task for task in await api.tasks(job["id"])}
        sleep_log = await api.task_log(tasks["sleep"]["id"])
        echo_log = await api.task_log(tasks["echo"]["id"])
    finally:
        await worker.stop()
        if manager.process is not None:
            await manager.stop()
    assert "slept 4s" in sleep_log
    assert sleep_log.index("slept 4s") < sleep_log.index("task changed status active -> completed")
    assert 'echo: "before"' in echo_log
    assert "queueing task update" in worker.log()


async def kill_and_restart_during_sleep(
    api: Api, manager: ManagerProcess, worker: WorkerProcess, job_id: str
) -> None:
    deadline = time.monotonic() + 40
    while True:
        tasks = {task["name"]: task for task in await api.tasks(job_id)}
        if tasks["sleep"]["status"] == "active":
            break
        assert time.monotonic() < deadline, worker.log()[-4000:]
        await asyncio.sleep(0.1)
    await manager.kill()
    # The sleep ends while the Manager is gone: its log line and the status
    # change can only be queued.
    await asyncio.sleep(6)
    await manager.start()


@needs_blender
@pytest.mark.timeout(110)
async def test_cancel_from_manager_stops_blender(
    manager: Any, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # Slow enough that it cannot finish before the Worker next asks whether it
    # may keep running (10 s): about 6 frames a second on a 2-core machine.
    blendfile = make_scene(tmp_path / "scene", frames=300, samples=1024)
    api = Api(session, manager.base_url)
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        render_job(blendfile, tmp_path / "render", frames="1-300", chunk_size=300),
    )
    worker = WorkerProcess(tmp_path / "worker", manager.base_url)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not any("blender" in cmd for _, cmd in child_processes(worker.pid)):
            assert time.monotonic() < deadline, worker.log()[-4000:]
            await asyncio.sleep(0.1)
        await api.call(
            "POST",
            f"/api/v3/jobs/{job['id']}/setstatus",
            {"status": "cancel-requested", "reason": "end-to-end test"},
        )
        cancelled_at = time.monotonic()
        # The Worker asks "may I keep running?" every 10 s.
        while any("blender" in cmd for _, cmd in child_processes(worker.pid)):
            assert time.monotonic() - cancelled_at < 30, worker.log()[-4000:]
            await asyncio.sleep(0.1)
        stopped_after = time.monotonic() - cancelled_at
        # A clean stop, not the forced one after 20 s.
        assert await worker.stop() == 1
    finally:
        await worker.stop()
    print(f"Blender stopped {stopped_after:.1f} s after the cancel")
    assert "task aborted by request of Manager" in worker.log()
    assert (await api.job(job["id"]))["status"] == "canceled"
