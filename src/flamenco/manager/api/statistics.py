"""Handlers for the `statistics` tag (extension): render statistics as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from flamenco.api import wire
from flamenco.manager import keys
from flamenco.manager.api.errors import error_response
from flamenco.manager.persistence.render_statistics import FrameStatistic, TaskRun
from flamenco.manager.render_statistics import reports

DEFAULT_PERIOD = dt.timedelta(hours=24)
DEFAULT_BUCKETS = 96
MAX_BUCKETS = 10_000
# Periods outside these years are typing errors, and would overflow date arithmetic.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _query(request: web.Request) -> Mapping[str, Any]:
    return request[keys.VALIDATED].query


def _wants_csv(request: web.Request) -> bool:
    return _query(request).get("format") == "csv"


def _csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> web.Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _frame(frame: FrameStatistic) -> dict[str, Any]:
    return {
        "frame": frame.frame,
        "task_id": frame.task_uuid,
        "worker_id": frame.worker_uuid,
        "worker_name": frame.worker_name,
        "render_seconds": frame.render_seconds,
        "saving_seconds": frame.saving_seconds,
        "peak_memory_bytes": frame.peak_memory_bytes,
        "recorded_at": wire.format_time(frame.recorded_at),
    }


FRAME_COLUMNS = (
    "frame",
    "task_id",
    "worker_id",
    "worker_name",
    "render_seconds",
    "saving_seconds",
    "peak_memory_bytes",
    "recorded_at",
)


def _run(run: TaskRun, now: dt.datetime) -> dict[str, Any]:
    return {
        "task_id": run.task_uuid,
        "task_name": run.task_name,
        "task_type": run.task_type,
        "job_id": run.job_uuid,
        "worker_id": run.worker_uuid,
        "worker_name": run.worker_name,
        "queued_at": wire.optional_time(run.queued_at),
        "started_at": wire.format_time(run.started_at),
        "finished_at": wire.optional_time(run.finished_at),
        "status": run.status,
        "queued_seconds": reports.queued_seconds(run),
        "running_seconds": reports.running_seconds(run, now),
    }


RUN_COLUMNS = (
    "task_id",
    "task_name",
    "task_type",
    "job_id",
    "worker_id",
    "worker_name",
    "queued_at",
    "started_at",
    "finished_at",
    "status",
    "queued_seconds",
    "running_seconds",
)


async def fetch_job_render_statistics(request: web.Request) -> web.Response:
    job_uuid = request.match_info["job_id"]
    service = request.app[keys.RENDER_STATISTICS]
    found = await service.job(job_uuid)
    if _wants_csv(request):
        return _csv_response(
            f"frames-{job_uuid}",
            FRAME_COLUMNS,
            ([_frame(frame)[column] for column in FRAME_COLUMNS] for frame in found.frames),
        )
    totals = found.totals
    estimate = found.estimate
    return web.json_response(
        {
            "job_id": job_uuid,
            "recording": service.enabled,
            "totals": {
                "frames_rendered": totals.frames_rendered,
                "render_seconds_total": totals.render_seconds_total,
                "render_seconds_mean": totals.render_seconds_mean,
                "render_seconds_median": totals.render_seconds_median,
                "render_seconds_max": totals.render_seconds_max,
                "peak_memory_bytes_max": totals.peak_memory_bytes_max,
                "task_runs": totals.task_runs,
                "running_seconds_total": totals.running_seconds_total,
                "queued_seconds_mean": totals.queued_seconds_mean,
            },
            "frames": [_frame(frame) for frame in found.frames],
            "slowest_frames": [_frame(frame) for frame in found.slowest_frames],
            "estimate": None
            if estimate is None
            else {
                "remaining_seconds": estimate.remaining_seconds,
                "finishes_at": wire.format_time(estimate.finishes_at),
            },
        }
    )


async def fetch_job_task_runs(request: web.Request) -> web.Response:
    job_uuid = request.match_info["job_id"]
    service = request.app[keys.RENDER_STATISTICS]
    found = await service.job(job_uuid)
    now = service.now()
    runs = [_run(run, now) for run in found.runs]
    if _wants_csv(request):
        return _csv_response(
            f"task-runs-{job_uuid}", RUN_COLUMNS, ([run[c] for c in RUN_COLUMNS] for run in runs)
        )
    return web.json_response({"runs": runs})


class PeriodInvalid(ValueError):
    pass


def _period(request: web.Request, now: dt.datetime) -> tuple[dt.datetime, dt.datetime, float]:
    query = _query(request)
    try:
        until = wire.parse_time(query["until"]) if "until" in query else now
        since = wire.parse_time(query["since"]) if "since" in query else until - DEFAULT_PERIOD
    except (ValueError, OverflowError) as error:
        raise PeriodInvalid(f"since and until must be RFC 3339 times: {error}") from None
    try:
        in_range = since >= EARLIEST and until <= LATEST
    except OverflowError:  # year 1 or 9999 with an offset that crosses it
        in_range = False
    if not in_range:
        raise PeriodInvalid(f"since and until must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    if since >= until:
        raise PeriodInvalid("since must come before until")
    length = (until - since).total_seconds()
    requested = query.get("bucket_seconds")
    default = max(1, round(length / DEFAULT_BUCKETS))
    # A bucket longer than the period is the period: one bucket (and no float overflow).
    bucket = (
        length if requested is not None and requested >= length else float(requested or default)
    )
    if length / bucket > MAX_BUCKETS:
        raise PeriodInvalid(
            f"{length / bucket:.0f} buckets asked for, at most {MAX_BUCKETS} allowed: "
            "make bucket_seconds longer or the period shorter"
        )
    return since, until, bucket


def _utilisation_body(found: reports.Utilisation) -> dict[str, Any]:
    length = (found.until - found.since).total_seconds()
    return {
        "since": wire.format_time(found.since),
        "until": wire.format_time(found.until),
        "bucket_seconds": found.bucket_seconds,
        "bucket_starts": [wire.format_time(start) for start in found.bucket_starts],
        "busy_workers": found.busy_workers,
        "workers": [
            {
                "worker_id": worker.worker_uuid,
                "worker_name": worker.worker_name,
                "busy_seconds": worker.busy_seconds,
                "busy_fraction": min(1.0, sum(worker.busy_seconds) / length),
            }
            for worker in found.workers
        ],
    }


async def _utilisation(request: web.Request, worker_uuid: str | None) -> web.Response:
    service = request.app[keys.RENDER_STATISTICS]
    try:
        since, until, bucket = _period(request, service.now())
    except PeriodInvalid as error:
        return error_response(400, str(error))
    found = await service.utilisation(since, until, bucket, worker_uuid)
    if worker_uuid is not None and not found.workers:
        found = reports.Utilisation(
            found.since,
            found.until,
            found.bucket_seconds,
            found.bucket_starts,
            [reports.WorkerUtilisation(worker_uuid, "", [0.0] * len(found.bucket_starts))],
        )
    if _wants_csv(request):
        rows = (
            [
                wire.format_time(start),
                worker.worker_uuid,
                worker.worker_name,
                worker.busy_seconds[index],
                worker.busy_seconds[index] / found.bucket_seconds,
            ]
            for index, start in enumerate(found.bucket_starts)
            for worker in found.workers
        )
        header = ("bucket_start", "worker_id", "worker_name", "busy_seconds", "busy_fraction")
        name = f"utilisation-{worker_uuid}" if worker_uuid else "farm-utilisation"
        return _csv_response(name, header, rows)
    return web.json_response(_utilisation_body(found))


async def fetch_worker_utilisation(request: web.Request) -> web.Response:
    return await _utilisation(request, request.match_info["worker_id"])


async def fetch_farm_utilisation(request: web.Request) -> web.Response:
    return await _utilisation(request, None)
