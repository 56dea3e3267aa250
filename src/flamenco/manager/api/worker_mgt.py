"""Handlers for the `worker-mgt` tag: the web interface managing Workers and worker tags."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from flamenco.api.enums import WorkerStatus
from flamenco.manager import keys
from flamenco.manager.api import convert
from flamenco.manager.api.errors import error_response
from flamenco.manager.api.responses import large_json_response
from flamenco.manager.services.sleep_schedule import Schedule


def _body(request: web.Request) -> dict[str, Any]:
    body = request[keys.VALIDATED].body
    return body if isinstance(body, dict) else {}


async def fetch_workers(request: web.Request) -> web.Response:
    workers = await request.app[keys.WORKERS].fetch_workers()
    return await large_json_response(
        lambda: {"workers": [convert.worker_summary(worker) for worker in workers]}
    )


async def fetch_worker(request: web.Request) -> web.Response:
    details = await request.app[keys.WORKERS].fetch_worker(request.match_info["worker_id"])
    return web.json_response(convert.worker(details.worker, details.tags, details.task))


async def delete_worker(request: web.Request) -> web.Response:
    await request.app[keys.WORKERS].delete(request.match_info["worker_id"])
    return web.Response(status=204)


async def request_worker_status_change(request: web.Request) -> web.Response:
    body = _body(request)
    await request.app[keys.WORKERS].request_status_change(
        request.match_info["worker_id"], WorkerStatus(body["status"]), is_lazy=body["is_lazy"]
    )
    return web.Response(status=204)


async def set_worker_tags(request: web.Request) -> web.Response:
    await request.app[keys.WORKERS].set_tags(
        request.match_info["worker_id"], list(_body(request)["tag_ids"])
    )
    return web.Response(status=204)


async def fetch_worker_sleep_schedule(request: web.Request) -> web.Response:
    schedule = await request.app[keys.SLEEP_SCHEDULER].fetch(request.match_info["worker_id"])
    if schedule is None:
        return web.Response(status=204)
    return web.json_response(
        {
            "is_active": schedule.is_active,
            "days_of_week": schedule.days_of_week,
            "start_time": schedule.start_time,
            "end_time": schedule.end_time,
        }
    )


async def set_worker_sleep_schedule(request: web.Request) -> web.Response:
    body = _body(request)
    schedule = Schedule.parse(
        is_active=body["is_active"],
        days_of_week=body["days_of_week"],
        start_time=body["start_time"],
        end_time=body["end_time"],
    )
    await request.app[keys.SLEEP_SCHEDULER].save(request.match_info["worker_id"], schedule)
    return web.Response(status=204)


async def fetch_worker_tags(request: web.Request) -> web.Response:
    tags = await request.app[keys.WORKERS].fetch_tags()
    return web.json_response({"tags": [convert.worker_tag(tag) for tag in tags]})


async def create_worker_tag(request: web.Request) -> web.Response:
    body = _body(request)
    tag_uuid = body.get("id") or ""
    if tag_uuid and not _is_uuid(tag_uuid):
        return error_response(400, f"worker tag ID {tag_uuid!r} is not a UUID")
    if not body["name"].strip():
        return error_response(400, "a worker tag needs a name")
    tag = await request.app[keys.WORKERS].create_tag(
        name=body["name"].strip(), description=body.get("description") or "", tag_uuid=tag_uuid
    )
    return web.json_response(convert.worker_tag(tag))


async def fetch_worker_tag(request: web.Request) -> web.Response:
    tag = await request.app[keys.WORKERS].fetch_tag(request.match_info["tag_id"])
    return web.json_response(convert.worker_tag(tag))


async def update_worker_tag(request: web.Request) -> web.Response:
    body = _body(request)
    if not body["name"].strip():
        return error_response(400, "a worker tag needs a name")
    await request.app[keys.WORKERS].update_tag(
        request.match_info["tag_id"], name=body["name"].strip(), description=body.get("description")
    )
    return web.Response(status=204)


async def delete_worker_tag(request: web.Request) -> web.Response:
    await request.app[keys.WORKERS].delete_tag(request.match_info["tag_id"])
    return web.Response(status=204)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
