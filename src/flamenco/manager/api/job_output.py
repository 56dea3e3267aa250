"""Handlers for a job's rendered frames: the frame strip, thumbnails, re-rendering missing ones."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from flamenco.manager import keys
from flamenco.manager.api.errors import error_response
from flamenco.manager.api.responses import large_json_response
from flamenco.manager.services.job_output import FrameInfo

STATES = ("rendered", "missing", "broken", "rendering", "waiting")


def _frame(info: FrameInfo) -> dict[str, object]:
    answer: dict[str, object] = {
        "frame": info.frame,
        "state": info.state,
        "task_id": info.task_uuid,
    }
    if info.state != "rendered" and info.problem:
        answer["problem"] = info.problem
    if info.warning:
        answer["warning"] = info.warning
    return answer


async def fetch_job_frames(request: web.Request) -> web.Response:
    scanned = await request.app[keys.JOB_OUTPUT].frames(request.match_info["job_id"])
    counts = Counter(info.state for info in scanned.frames)
    return await large_json_response(
        lambda: {
            "frames": [_frame(info) for info in scanned.frames],
            "counts": {state: counts.get(state, 0) for state in STATES},
            "warnings": sum(1 for info in scanned.frames if info.warning),
        }
    )


async def fetch_job_frame_thumbnail(request: web.Request) -> web.StreamResponse:
    try:
        frame = int(request.match_info["frame"])
    except ValueError:
        return error_response(400, "the frame must be a whole number")
    path = await request.app[keys.JOB_OUTPUT].thumbnail(request.match_info["job_id"], frame)
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "no-cache"}
    )


async def rerender_missing_frames(request: web.Request) -> web.Response:
    result = await request.app[keys.JOB_OUTPUT].rerender_missing(
        request.match_info["job_id"], "requested through the API"
    )
    return web.json_response(
        {
            "checked_frames": result.checked_frames,
            "frames": [
                {
                    "frame": info.frame,
                    "state": info.state,
                    "path": info.path,
                    "problem": info.problem,
                    "task_id": info.task_uuid,
                }
                for info in result.frames
            ],
            "tasks": [
                {"id": task.uuid, "name": task.name, "reason": task.reason} for task in result.tasks
            ],
        }
    )
