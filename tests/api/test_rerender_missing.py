"""A job's frames checked on disk; `rerender-missing` requeues exactly what is missing or broken."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from flamenco.frame_checks import expected
from support.jobs import blender_render_job, job_status
from support.manager import RunningManager
from support.worker_session import WorkerSession


def png(frame: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (frame * 20 % 256, 80, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def frame_paths(task: dict[str, Any]) -> dict[int, Path]:
    """Where the task's Blender command writes its frames, from the command itself."""
    outputs = expected.blender_render_outputs(task["commands"])
    return {frame: Path(path) for output in outputs for frame, path in output.paths()}


async def render_all(worker: WorkerSession) -> list[str]:
    """Run every task there is, writing the frames of render tasks as Blender would."""
    names = []
    while (reply := await worker.schedule()).status == 200:
        task = reply.json()
        for frame, path in frame_paths(task).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png(frame))
        await worker.complete(task)
        names.append(task["name"])
    return names


async def submit_and_render(manager: RunningManager, shared: Path) -> tuple[dict[str, Any], Path]:
    client = manager.client
    job_json = blender_render_job(
        frames="1-6",
        chunk_size=2,
        render_output_root=str(shared / "frames"),
        render_output_path=str(shared / "frames" / "shot" / "{timestamp}" / "######"),
    )
    job = (await client.post("/api/v3/jobs", json_body=job_json, expect=200)).json()
    worker = WorkerSession(client)
    await worker.start()
    assert len(await render_all(worker)) == 4  # three render tasks and the preview video
    assert await job_status(client, job["id"]) == "completed"
    (folder,) = list((shared / "frames" / "shot").iterdir())
    return job, folder


async def test_rerender_missing_requeues_exactly_the_missing_and_broken(
    manager: RunningManager, shared_storage: Path
) -> None:
    client = manager.client
    job, folder = await submit_and_render(manager, shared_storage)
    url = f"/api/v3/jobs/{job['id']}"

    frames = (await client.get(f"{url}/frames", expect=200)).json()
    assert [(f["frame"], f["state"]) for f in frames["frames"]] == [
        (n, "rendered") for n in range(1, 7)
    ]
    assert frames["counts"]["rendered"] == 6

    # Complete output: nothing to do, and the job stays completed.
    nothing = (await client.post(f"{url}/rerender-missing", expect=200)).json()
    assert nothing == {"checked_frames": 6, "frames": [], "tasks": []}
    assert await job_status(client, job["id"]) == "completed"

    (folder / "000003.png").unlink()
    cut = folder / "000006.png"
    cut.write_bytes(cut.read_bytes()[:-30])
    answer = (await client.post(f"{url}/rerender-missing", expect=200)).json()

    assert answer["checked_frames"] == 6
    assert [(f["frame"], f["state"]) for f in answer["frames"]] == [(3, "missing"), (6, "broken")]
    assert answer["frames"][0]["path"] == str(folder / "000003.png")
    assert answer["frames"][1]["problem"].startswith("not a whole PNG file")
    tasks = {
        task["id"]: task for task in (await client.get(f"{url}/tasks", expect=200)).json()["tasks"]
    }
    requeued = [(tasks[t["id"]]["name"], t["reason"]) for t in answer["tasks"]]
    render_names = sorted(
        name for name in (t["name"] for t in tasks.values()) if name.startswith("render")
    )
    assert requeued == [
        (render_names[1], "frames"),
        (render_names[2], "frames"),
        ("preview-video", "dependent"),
    ]
    statuses = {task["name"]: task["status"] for task in tasks.values()}
    assert statuses == {
        render_names[0]: "completed",
        render_names[1]: "queued",
        render_names[2]: "queued",
        "preview-video": "queued",
    }
    assert await job_status(client, job["id"]) == "queued"
    # The broken frame was set aside, so that a render that keeps existing files redoes it.
    assert not cut.exists() and (folder / "000006.png.broken").exists()

    strip = (await client.get(f"{url}/frames", expect=200)).json()["frames"]
    assert [f["state"] for f in strip] == [
        "rendered",
        "rendered",
        "waiting",
        "rendered",
        "rendered",
        "waiting",
    ]

    # Asked again while they wait: they will run anyway, so nothing more is requeued.
    again = (await client.post(f"{url}/rerender-missing", expect=200)).json()
    assert again["tasks"] == []

    worker = WorkerSession(client, name="second")
    await worker.start()
    assert await render_all(worker) == [render_names[1], render_names[2], "preview-video"]
    assert await job_status(client, job["id"]) == "completed"
    log = (await client.get(f"/api/v3/tasks/{answer['tasks'][0]['id']}/logtail", expect=200)).text
    assert "Queued to render again: its frames are missing or broken" in log


async def test_frame_thumbnails(manager: RunningManager, shared_storage: Path) -> None:
    client = manager.client
    job, folder = await submit_and_render(manager, shared_storage)
    url = f"/api/v3/jobs/{job['id']}/frames"

    reply = await client.get(f"{url}/2/thumbnail", expect=200)
    assert reply.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(reply.body)) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size[0] <= 200
    # Made once: the same file is answered again.
    again = await client.get(f"{url}/2/thumbnail", expect=200)
    assert again.body == reply.body

    (folder / "000004.png").unlink()
    missing = await client.get(f"{url}/4/thumbnail", expect=404)
    assert missing.json()["message"].startswith("frame 4 is missing")
    unknown = await client.get(f"{url}/99/thumbnail", expect=404)
    assert unknown.json()["message"] == "the job renders no frame 99"


async def test_jobs_that_cannot_rerender(manager: RunningManager, shared_storage: Path) -> None:
    client = manager.client
    job, folder = await submit_and_render(manager, shared_storage)

    # A Manager that cannot see the output must not requeue the whole job.
    folder.rename(folder.with_name("moved"))
    invisible = await client.post(f"/api/v3/jobs/{job['id']}/rerender-missing", expect=409)
    assert "cannot see the job's output folder" in invisible.json()["message"]
    assert await job_status(client, job["id"]) == "completed"

    other = (
        await client.post("/api/v3/jobs", json_body=blender_render_job(name="paused"), expect=200)
    ).json()
    await client.post(
        f"/api/v3/jobs/{other['id']}/setstatus",
        json_body={"status": "pause-requested", "reason": "test"},
        expect=204,
    )
    paused = await client.post(f"/api/v3/jobs/{other['id']}/rerender-missing", expect=409)
    assert paused.json()["message"].startswith('a job in status "paused" cannot re-render')

    await client.post(
        "/api/v3/jobs/8d0a7d5e-2f55-4c61-8e77-3c3fbb3c0d15/rerender-missing", expect=404
    )


async def test_jobs_without_frames(manager: RunningManager) -> None:
    client = manager.client
    job = (
        await client.post(
            "/api/v3/jobs",
            json_body={
                "name": "echo",
                "type": "echo-sleep-test",
                "priority": 50,
                "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
                "metadata": {},
            },
            expect=200,
        )
    ).json()
    frames = (await client.get(f"/api/v3/jobs/{job['id']}/frames", expect=200)).json()
    assert frames["frames"] == []
    answer = (await client.post(f"/api/v3/jobs/{job['id']}/rerender-missing", expect=200)).json()
    assert answer == {"checked_frames": 0, "frames": [], "tasks": []}


async def test_black_and_identical_frames_are_flagged_when_asked(
    manager: RunningManager, shared_storage: Path
) -> None:
    client = manager.client
    job_json = blender_render_job(
        frames="1-4",
        chunk_size=4,
        render_output_root=str(shared_storage / "frames"),
        render_output_path=str(shared_storage / "frames" / "{timestamp}" / "######"),
        warn_black_frames=True,
        warn_identical_frames=True,
    )
    job = (await client.post("/api/v3/jobs", json_body=job_json, expect=200)).json()
    worker = WorkerSession(client)
    await worker.start()
    task = await worker.next_task()
    assert task["commands"][0]["parameters"]["frameWarnings"] == ["black", "identical"]
    colours = {1: (9, 9, 9), 2: (0, 0, 0), 3: (50, 60, 70), 4: (50, 60, 70)}
    for frame, path in frame_paths(task).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 18), colours[frame]).save(path)
    await worker.complete(task)

    answer = (await client.get(f"/api/v3/jobs/{job['id']}/frames", expect=200)).json()
    assert [(f["frame"], f["state"], f.get("warning")) for f in answer["frames"]] == [
        (1, "rendered", None),
        (2, "rendered", "every pixel is black"),
        (3, "rendered", None),
        (4, "rendered", "identical to frame 3"),
    ]
    assert answer["warnings"] == 2
    # Warnings are not failures: nothing to re-render.
    rerendered = (
        await client.post(f"/api/v3/jobs/{job['id']}/rerender-missing", expect=200)
    ).json()
    assert rerendered["tasks"] == []
