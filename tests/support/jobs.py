"""Submitting jobs in tests, the way the Blender add-on does."""

from __future__ import annotations

from typing import Any

from support.spec_client import SpecCheckedClient


async def submit_echo_sleep(
    client: SpecCheckedClient,
    *,
    name: str = "echo job",
    repeats: int = 2,
    priority: int = 50,
    **extra: Any,
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "name": name,
        "type": "echo-sleep-test",
        "priority": priority,
        "submitter_platform": "linux",
        "settings": {
            "message": "hello farm",
            "sleep_duration_seconds": 1,
            "sleep_repeats": repeats,
        },
        "metadata": {"project": "tests"},
    }
    job.update(extra)
    reply = await client.post("/api/v3/jobs", json_body=job, expect=200)
    submitted: dict[str, Any] = reply.json()
    return submitted


def blender_render_job(
    *, name: str = "render job", frames: str = "1-10", chunk_size: int = 3, **settings: Any
) -> dict[str, Any]:
    job_settings: dict[str, Any] = {
        "blendfile": "/render/jobs/scene.flamenco.blend",
        "chunk_size": chunk_size,
        "frames": frames,
        "render_output_root": "/render/frames",
        "add_path_components": 0,
        "render_output_path": "/render/frames/scene/{timestamp}/######",
        "fps": 24.0,
        "format": "PNG",
        "image_file_extension": ".png",
        "has_previews": False,
        "scene": "Scene",
    }
    job_settings.update(settings)
    return {
        "name": name,
        "type": "simple-blender-render",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": job_settings,
        "metadata": {},
    }


async def job_status(client: SpecCheckedClient, job_id: str) -> str:
    reply = await client.get(f"/api/v3/jobs/{job_id}", expect=200)
    return str(reply.json()["status"])


async def tasks_by_name(client: SpecCheckedClient, job_id: str) -> dict[str, dict[str, Any]]:
    reply = await client.get(f"/api/v3/jobs/{job_id}/tasks", expect=200)
    return {task["name"]: task for task in reply.json()["tasks"]}
