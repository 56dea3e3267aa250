"""Handlers for the `worker` tag: what Workers call to register, get tasks and report on them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from flamenco.api.enums import TaskStatus, WorkerStatus
from flamenco.manager import keys
from flamenco.manager.api import convert
from flamenco.manager.api.errors import error_response
from flamenco.manager.services import last_rendered, scheduling
from flamenco.manager.services.task_updates import TaskUpdate


def _body(request: web.Request) -> dict[str, Any]:
    body = request[keys.VALIDATED].body
    return body if isinstance(body, dict) else {}


def client_address(request: web.Request) -> str:
    """The Worker's address, as upstream reports it: the first proxy hop, else the peer."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        return forwarded.split(",")[0].strip()
    real_ip = request.headers.get("X-Real-IP", "")
    return real_ip.strip() or (request.remote or "")


async def register_worker(request: web.Request) -> web.Response:
    body = _body(request)
    worker = await request.app[keys.WORKERS].register(
        secret=body["secret"],
        name=body["name"],
        platform=body["platform"],
        task_types=body["supported_task_types"],
        address=client_address(request),
    )
    return web.json_response(convert.registered_worker(worker))


async def sign_on(request: web.Request) -> web.Response:
    body = _body(request)
    status = await request.app[keys.WORKERS].sign_on(
        request[keys.WORKER_UUID],
        name=body["name"],
        task_types=body["supported_task_types"],
        software=body["software_version"],
        can_restart=bool(body.get("can_restart", False)),
        address=client_address(request),
    )
    return web.json_response({"status_requested": status})


async def sign_off(request: web.Request) -> web.Response:
    await request.app[keys.WORKERS].sign_off(request[keys.WORKER_UUID])
    return web.Response(status=204)


async def worker_state(request: web.Request) -> web.Response:
    status = await request.app[keys.WORKERS].pending_status_request(request[keys.WORKER_UUID])
    if status is None:
        return web.Response(status=204)
    return web.json_response({"status_requested": status})


async def worker_state_changed(request: web.Request) -> web.Response:
    await request.app[keys.WORKERS].status_changed(
        request[keys.WORKER_UUID], WorkerStatus(_body(request)["status"])
    )
    return web.Response(status=204)


async def schedule_task(request: web.Request) -> web.Response:
    result = await request.app[keys.SCHEDULER].schedule(request[keys.WORKER_UUID])
    match result:
        case scheduling.StatusChangeRequired(status):
            return web.json_response({"status_requested": status}, status=423)
        case scheduling.NotAwake(status):
            return error_response(
                409, f'worker is in state "{status}", requires state "awake" to execute tasks'
            )
        case scheduling.Assigned(task, job, worker):
            expand = request.app[keys.VARIABLES].expand_command_parameters
            commands = [
                {**command, "parameters": expand(command.get("parameters") or {}, worker.platform)}
                for command in task.commands
            ]
            return web.json_response(convert.assigned_task(task, job, commands))
    return web.Response(status=204)


async def task_update(request: web.Request) -> web.Response:
    body = _body(request)
    update = TaskUpdate(
        status=TaskStatus(body["taskStatus"]) if "taskStatus" in body else None,
        activity=body.get("activity"),
        log=body.get("log"),
        steps_completed=body.get("steps_completed"),
    )
    await request.app[keys.TASK_UPDATES].update(
        request[keys.WORKER_UUID], request.match_info["task_id"], update
    )
    return web.Response(status=204)


async def may_worker_run(request: web.Request) -> web.Response:
    answer = await request.app[keys.SCHEDULER].may_keep_running(
        request[keys.WORKER_UUID], request.match_info["task_id"]
    )
    return web.json_response(
        {
            "mayKeepRunning": answer.may_keep_running,
            "reason": answer.reason,
            "statusChangeRequested": answer.status_change_requested,
        }
    )


async def task_output_produced(request: web.Request) -> web.Response:
    """Accept the newest rendered image of a task; thumbnails are made in the background."""
    size = request.content_length
    if not size:
        return error_response(411, "Content-Length header required")
    if size > last_rendered.MAX_IMAGE_BYTES:
        return error_response(
            413, f"image too large; should be max {last_rendered.MAX_IMAGE_BYTES} bytes"
        )
    task = await request.app[keys.SCHEDULER].task_of_worker_seen(
        request[keys.WORKER_UUID], request.match_info["task_id"]
    )
    image = await request.read()
    await request.app[keys.LAST_RENDERED].check(image)
    try:
        request.app[keys.LAST_RENDERED].queue(
            last_rendered.RenderedImage(task.job_uuid, task.uuid, image)
        )
    except last_rendered.QueueFull:
        return error_response(429, "image processing queue is full")
    return web.Response(status=202)
