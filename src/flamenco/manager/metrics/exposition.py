"""GET /metrics in Prometheus' text format, and the middleware that times API requests.

The farm's counts (flamenco_jobs, flamenco_tasks, flamenco_workers) are read
from the database at each scrape, in one cheap read transaction
(persistence.farm_counts), so whichever Manager process answers reports the
same farm, once. Everything else is this process's own, or, with
PROMETHEUS_MULTIPROC_DIR set (`--processes N` sets it), the sum over every
process of the farm's Manager.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Collection, Iterable, Iterator

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager import keys
from flamenco.manager.api.errors import Handler, error_response
from flamenco.manager.metrics.recorder import MULTIPROCESS_DIRECTORY_VARIABLE, PrometheusRecorder
from flamenco.manager.persistence.errors import DatabaseBusy
from flamenco.manager.persistence.farm_counts import FarmCounts, count_farm

METRICS_PATH = "/metrics"
# The classic text format, which every Prometheus reads; our names need no escaping.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RETRY = {"Retry-After": "1"}


def setup_routes(app: web.Application) -> None:
    app.router.add_get(METRICS_PATH, metrics_handler, name="metrics")


async def metrics_handler(request: web.Request) -> web.Response:
    recorder = request.app[keys.METRICS]
    if not isinstance(recorder, PrometheusRecorder):
        return error_response(
            404, "metrics are switched off (metrics_enabled: false in the Manager's configuration)"
        )
    try:
        counts = await request.app[keys.DATABASE].read(count_farm)
    except DatabaseBusy:
        # Prometheus marks the scrape failed (`up` 0), which is what an alert wants.
        return error_response(
            503, "the database is unavailable, so the farm's counts are too", headers=RETRY
        )
    directory = os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
    if directory:
        # Reading every process's files is disk I/O: off the event loop.
        own = await asyncio.to_thread(_every_process, directory)
    else:
        own = generate_latest(recorder.registry)
    farm = CollectorRegistry(auto_describe=False)
    farm.register(FarmCountsCollector(counts))
    return web.Response(body=generate_latest(farm) + own, headers={"Content-Type": CONTENT_TYPE})


def _every_process(directory: str) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class FarmCountsCollector:
    """The farm's counts as gauges; every known status is there, with 0 when nothing has it,
    so that a status does not vanish from graphs when its last job leaves it."""

    def __init__(self, counts: FarmCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        yield _gauge("flamenco_jobs", "Jobs by status.", self._counts.jobs, JobStatus)
        yield _gauge("flamenco_tasks", "Tasks by status.", self._counts.tasks, TaskStatus)
        yield _gauge(
            "flamenco_workers",
            "Workers by status (deleted Workers are not counted).",
            self._counts.workers,
            WorkerStatus,
        )


def _gauge(
    name: str, documentation: str, counts: dict[str, int], statuses: Iterable[str]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status in sorted({*statuses, *counts}):
        family.add_metric([status], counts.get(status, 0))
    return family


def request_duration_middleware(
    recorder: PrometheusRecorder, operations: Collection[str]
) -> Middleware:
    """Times every request to an operation of the spec, by operation ID; other paths
    (the web interface's files, Socket.IO) are not timed, so that the label stays small."""
    operation_ids = frozenset(operations)

    @web.middleware
    async def request_duration(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            name = request.match_info.route.name
            if name in operation_ids:
                recorder.http_request(name, time.perf_counter() - started)

    return request_duration
