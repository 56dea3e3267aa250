"""Handlers for the `jobs` tag: job types, submission, queries, status changes, task logs."""

from __future__ import annotations

from aiohttp import web

from flamenco.api import wire
from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager import job_compilers, keys
from flamenco.manager.api import convert
from flamenco.manager.api.errors import error_response
from flamenco.manager.api.responses import large_json_response
from flamenco.manager.persistence.errors import JobNotFound, WorkerTagNotFound
from flamenco.manager.persistence.models import BlocklistEntry


def _body(request: web.Request) -> dict:  # type: ignore[type-arg]
    body = request[keys.VALIDATED].body
    return body if isinstance(body, dict) else {}


def _path(request: web.Request, name: str) -> str:
    return request.match_info[name]


async def get_job_types(request: web.Request) -> web.Response:
    listing = await request.app[keys.JOB_COMPILERS].list_job_types()
    body: dict[str, object] = {"job_types": listing.job_types}
    if listing.broken:
        body["broken_job_types"] = [
            {"name": broken.name, "file": broken.file, "message": broken.message}
            for broken in listing.broken
        ]
    return web.json_response(body)


async def get_job_type(request: web.Request) -> web.Response:
    try:
        job_type = await request.app[keys.JOB_COMPILERS].get_job_type(_path(request, "typeName"))
    except job_compilers.JobTypeUnknown as error:
        return error_response(404, error.message)
    return web.json_response(job_type)


async def submit_job(request: web.Request) -> web.Response:
    job = await request.app[keys.JOBS].submit(_body(request))
    await request.app[keys.ACCESS].record_submitter(job.uuid, request[keys.PRINCIPAL])
    return web.json_response(convert.job(job))


async def submit_job_check(request: web.Request) -> web.Response:
    await request.app[keys.JOBS].check(_body(request))
    return web.Response(status=204)


async def fetch_jobs(request: web.Request) -> web.Response:
    jobs = await request.app[keys.JOBS].fetch_jobs()
    return await large_json_response(lambda: {"jobs": [convert.job(job) for job in jobs]})


async def fetch_job(request: web.Request) -> web.Response:
    job = await request.app[keys.JOBS].fetch_job(_path(request, "job_id"))
    return web.json_response(convert.job(job))


def _with_dependents(request: web.Request) -> bool:
    return bool(request[keys.VALIDATED].query.get("with_dependents", False))


async def delete_job(request: web.Request) -> web.Response:
    await request.app[keys.JOBS].request_deletion(
        _path(request, "job_id"), with_dependents=_with_dependents(request)
    )
    return web.Response(status=204)


async def delete_job_mass(request: web.Request) -> web.Response:
    moment = _body(request).get("last_updated_max")
    if not moment:
        return error_response(400, "invalid format (no last_updated_max)")
    try:
        await request.app[keys.JOBS].request_mass_deletion(
            wire.round_up_to_second(wire.parse_time(moment)),
            with_dependents=_with_dependents(request),
        )
    except JobNotFound as error:
        return error_response(416, error.message)
    return web.Response(status=204)


async def delete_job_what_would_it_do(request: web.Request) -> web.Response:
    job = await request.app[keys.JOBS].fetch_job(_path(request, "job_id"))
    deleter = request.app[keys.JOB_DELETER]
    return web.json_response({"shaman_checkout": deleter.would_erase_checkout(job)})


async def fetch_job_last_rendered_info(request: web.Request) -> web.Response:
    job = await request.app[keys.JOBS].fetch_job(_path(request, "job_id"))
    info = await request.app[keys.LAST_RENDERED].info_for_job(job.uuid)
    return web.Response(status=204) if info is None else web.json_response(info)


async def fetch_global_last_rendered_info(request: web.Request) -> web.Response:
    info = await request.app[keys.LAST_RENDERED].info_latest()
    return web.Response(status=204) if info is None else web.json_response(info)


async def set_job_status(request: web.Request) -> web.Response:
    body = _body(request)
    await request.app[keys.JOBS].set_status(
        _path(request, "job_id"), JobStatus(body["status"]), body["reason"]
    )
    return web.Response(status=204)


async def set_job_priority(request: web.Request) -> web.Response:
    await request.app[keys.JOBS].set_priority(_path(request, "job_id"), _body(request)["priority"])
    return web.Response(status=204)


async def set_job_tag(request: web.Request) -> web.Response:
    body = _body(request)
    try:
        await request.app[keys.JOBS].set_tag(
            _path(request, "job_id"), tag_uuid=body.get("id") or "", tag_name=body.get("name") or ""
        )
    except WorkerTagNotFound as error:
        # The spec's 422; upstream answers 406 here.
        return error_response(422, error.message)
    return web.Response(status=204)


async def fetch_job_tasks(request: web.Request) -> web.Response:
    tasks = await request.app[keys.JOBS].fetch_job_tasks(_path(request, "job_id"))
    # `jobs` is required by the Flamenco 3 schema by mistake; the tasks are in `tasks`.
    return await large_json_response(
        lambda: {"tasks": [convert.task_summary(task) for task in tasks], "jobs": []}
    )


async def fetch_job_blocklist(request: web.Request) -> web.Response:
    entries = await request.app[keys.JOBS].fetch_blocklist(_path(request, "job_id"))
    return web.json_response([convert.blocklist_entry(entry) for entry in entries])


async def remove_job_blocklist(request: web.Request) -> web.Response:
    body = request[keys.VALIDATED].body
    if not body:
        return error_response(400, "no blocklist entries given")
    entries = [
        BlocklistEntry(worker_uuid=entry["worker_id"], worker_name="", task_type=entry["task_type"])
        for entry in body
    ]
    await request.app[keys.JOBS].remove_from_blocklist(_path(request, "job_id"), entries)
    return web.Response(status=204)


async def fetch_task(request: web.Request) -> web.Response:
    details = await request.app[keys.JOBS].fetch_task(_path(request, "task_id"))
    return web.json_response(convert.task(details.task, details.failed_by_workers))


async def fetch_task_log_tail(request: web.Request) -> web.Response:
    task = await request.app[keys.JOBS].fetch_task_ref(_path(request, "task_id"))
    tail = await request.app[keys.TASK_LOGS].tail(task.job_uuid, task.uuid)
    if tail is None:
        return web.Response(status=204)
    return web.Response(text=tail, content_type="text/plain")


async def fetch_task_log_info(request: web.Request) -> web.Response:
    task = await request.app[keys.JOBS].fetch_task_ref(_path(request, "task_id"))
    info = await request.app[keys.TASK_LOGS].info(task.job_uuid, task.uuid)
    if info is None:
        return web.Response(status=204)
    storage = request.app[keys.LOCAL_STORAGE]
    return web.json_response(
        {
            "task_id": task.uuid,
            "job_id": task.job_uuid,
            "url": storage.url_for(info.relative_path),
            "size": info.size,
        }
    )


async def set_task_status(request: web.Request) -> web.Response:
    body = _body(request)
    await request.app[keys.JOBS].set_task_status(
        _path(request, "task_id"), TaskStatus(body["status"]), body["reason"]
    )
    return web.Response(status=204)


async def set_job_max_workers(request: web.Request) -> web.Response:
    job = await request.app[keys.JOBS].set_max_workers(
        _path(request, "job_id"), _body(request).get("max_workers")
    )
    return web.json_response(convert.job(job))


async def explain_job(request: web.Request) -> web.Response:
    reasons = await request.app[keys.SCHEDULER].explain(
        _path(request, "job_id"), request.query.get("worker") or None
    )
    return web.json_response(
        {"reasons": [{"code": reason.code, "message": reason.message} for reason in reasons]}
    )


async def fetch_resource_limits(request: web.Request) -> web.Response:
    usage = await request.app[keys.SCHEDULER].limit_usage()
    return web.json_response(
        {
            "limits": [
                {"name": name, "capacity": capacity, "in_use": in_use}
                for name, (in_use, capacity) in usage.items()
            ]
        }
    )


async def fetch_job_dependencies(request: web.Request) -> web.Response:
    graph = await request.app[keys.JOBS].fetch_job_graph(_path(request, "job_id"))
    return web.json_response(
        {
            "depends_on": [convert.job_ref(job) for job in graph.depends_on],
            "dependents": [convert.job_ref(job) for job in graph.dependents],
            "waiting_reason": graph.waiting_reason,
            "awaiting_approval": [
                {"id": task.uuid, "name": task.name} for task in graph.awaiting_approval
            ],
        }
    )


async def approve_task(request: web.Request) -> web.Response:
    body = _body(request)
    await request.app[keys.APPROVALS].approve(
        _path(request, "task_id"),
        approver=body.get("approver") or "",
        comment=body.get("comment") or "",
    )
    return web.Response(status=204)


async def reject_task(request: web.Request) -> web.Response:
    body = _body(request)
    await request.app[keys.APPROVALS].reject(
        _path(request, "task_id"), reason=body["reason"], approver=body.get("approver") or ""
    )
    return web.Response(status=204)
