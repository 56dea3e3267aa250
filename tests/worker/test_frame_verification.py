"""A frame broken or deleted just after Blender wrote it fails the task; the next try renders it."""

from __future__ import annotations

import asyncio
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flamenco.frame_checks import files
from flamenco.manager import config
from support.manager_process import WorkerProcess
from support.render_scene import make_scene, render_job

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("blender") is None or shutil.which("ffmpeg") is None,
        reason="needs blender and ffmpeg on the PATH",
    ),
    # Blender dominates; the database plays no part in what is tested here.
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

# Runs the real Blender, then, once each, cuts frame 2 short and deletes frame 3:
# what a full disk or a share that went away does after Blender said "Saved".
SABOTEUR = """#!/bin/sh
blender "$@" || exit $?
frame=$(find {root} -name 000002.png | head -n 1)
if [ -n "$frame" ] && [ ! -e {marks}/cut ]; then
    touch {marks}/cut
    head -c 200 "$frame" > "$frame.part" && mv "$frame.part" "$frame"
fi
frame=$(find {root} -name 000003.png | head -n 1)
if [ -n "$frame" ] && [ ! -e {marks}/deleted ]; then
    touch {marks}/deleted
    rm "$frame"
fi
"""


@pytest.fixture
def output_root(tmp_path: Path) -> Path:
    return tmp_path / "render"


@pytest.fixture
def manager_config(
    make_manager_config: Any, tmp_path: Path, output_root: Path
) -> config.LoadedConfig:
    marks = tmp_path / "marks"
    marks.mkdir()
    saboteur = tmp_path / "blender-saboteur"
    saboteur.write_text(SABOTEUR.format(root=output_root, marks=marks), encoding="utf-8")
    saboteur.chmod(saboteur.stat().st_mode | stat.S_IXUSR)
    loaded: config.LoadedConfig = make_manager_config(
        variables={
            "blender": {"values": [{"platform": "all", "value": str(saboteur)}]},
            "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]},
        }
    )
    return loaded


async def wait_for_status(
    session: aiohttp.ClientSession, url: str, status: str, workers: list[WorkerProcess]
) -> dict[str, Any]:
    deadline = time.monotonic() + 100
    while True:
        async with session.get(url) as response:
            job: dict[str, Any] = await response.json()
        if job["status"] == status:
            return job
        if time.monotonic() > deadline:
            logs = "\n".join(worker.log()[-5000:] for worker in workers)
            raise AssertionError(f"job is {job['status']}\n{logs}")
        await asyncio.sleep(0.25)


async def task_log(session: aiohttp.ClientSession, base_url: str, task_id: str) -> str:
    async with session.get(f"{base_url}/api/v3/tasks/{task_id}/log") as response:
        url = (await response.json())["url"]
    async with session.get(base_url + url) as response:
        return await response.text()


@pytest.mark.timeout(170)
async def test_broken_and_missing_frames_are_rendered_again(
    manager: Any, tmp_path: Path, output_root: Path
) -> None:
    blendfile = make_scene(tmp_path / "scene", frames=4)
    base_url = manager.base_url
    # A Worker never gets a task it failed again: the next try is another Worker's.
    workers = [
        WorkerProcess(tmp_path / f"worker-{number}", base_url, name=f"worker-{number}")
        for number in (1, 2)
    ]
    async with aiohttp.ClientSession() as session:
        job_json = render_job(blendfile, output_root, frames="1-4", chunk_size=2)
        async with session.post(f"{base_url}/api/v3/jobs", json=job_json) as response:
            assert response.status == 200, await response.text()
            job = await response.json()
        for worker in workers:
            worker.start()
        try:
            await wait_for_status(
                session, f"{base_url}/api/v3/jobs/{job['id']}", "completed", workers
            )
        finally:
            for worker in workers:
                await worker.stop()
        async with session.get(f"{base_url}/api/v3/jobs/{job['id']}/tasks") as response:
            tasks = (await response.json())["tasks"]
        renders = [task for task in tasks if task["name"].startswith("render-")]
        first_log = await task_log(session, base_url, renders[0]["id"])
        second_log = await task_log(session, base_url, renders[1]["id"])

    (folder,) = list((output_root / "render").iterdir())
    frames = sorted(path.name for path in folder.glob("*.png"))
    assert frames == [f"{n:06d}.png" for n in range(1, 5)]
    for name in frames:
        check = files.check_file(str(folder / name))
        assert check.ok, check.describe()
    # The cut-off frame was kept aside, and the next try rendered it anew.
    assert (folder / "000002.png.broken").stat().st_size == 200

    cut, gone = folder / "000002.png", folder / "000003.png"
    assert f"broken frame {cut}: cannot read the image header" in first_log
    assert f"set aside as {cut}.broken" in first_log
    assert f"Failed: blender-render: 1 of 2 frames missing or broken: {cut}\n" in first_log
    assert "task changed status active -> soft-failed" in first_log
    assert "checked 2 frames: all there and whole" in first_log
    assert first_log.rindex("task changed status active -> completed") > first_log.index(
        "soft-failed"
    )
    assert f"missing frame {gone}: the file does not exist" in second_log
    assert f"Failed: blender-render: 1 of 2 frames missing or broken: {gone}\n" in second_log
    assert "task changed status active -> soft-failed" in second_log
    assert list(folder.glob("*.mp4"))
