"""Two chained jobs on real Workers: the second renders with Blender after the first completed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import WorkerProcess
from worker.test_end_to_end import Api, make_scene, needs_blender, render_job

pytestmark = pytest.mark.slow


@pytest.fixture
async def session() -> Any:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@needs_blender
@pytest.mark.timeout(150)
async def test_second_job_renders_only_after_the_first_completed(
    manager: Any, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    blendfile = make_scene(tmp_path / "scene", frames=1, samples=1)
    output_root = tmp_path / "render"
    api = Api(session, manager.base_url)
    # The "bake": a job of a few seconds that needs no Blender.
    bake = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            "name": "bake",
            "type": "echo-sleep-test",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "baking", "sleep_duration_seconds": 3, "sleep_repeats": 1},
        },
    )
    render = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            **render_job(blendfile, output_root, frames="1", chunk_size=1),
            "depends_on": [bake["id"]],
            # Were the dependency ignored, this priority would make the render go first.
            "priority": 90,
        },
    )
    # Two Workers: one is always free to take the render, were it allowed to.
    workers = [
        WorkerProcess(tmp_path / f"worker-{number}", manager.base_url, name=f"chain-{number}")
        for number in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            # Looked at before the bake's status: had the render started while the
            # bake was still unfinished, it shows here.
            render_statuses = {task["status"] for task in await api.tasks(render["id"])}
            frames_written = list(output_root.glob("**/*.png"))
            if (await api.job(bake["id"]))["status"] == "completed":
                break
            assert render_statuses == {"queued"} and not frames_written
            assert time.monotonic() < deadline, workers[0].log()[-4000:]
            await asyncio.sleep(0.2)
        await api.wait_for(render["id"], "completed", 90, workers[1])
    finally:
        for worker in workers:
            await worker.stop()

    frames = sorted(output_root.glob("e2e/*/*.png"))
    assert [frame.name for frame in frames] == ["000001.png"]
    assert frames[0].read_bytes().startswith(b"\x89PNG")
    finished = await api.job(render["id"])
    assert finished["depends_on"] == [bake["id"]]
    render_task = (await api.tasks(render["id"]))[0]
    assert "Saved: '" in await api.task_log(render_task["id"])
