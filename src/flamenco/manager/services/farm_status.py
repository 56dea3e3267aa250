"""The farm's overall status, recomputed on events and periodically, broadcast when it changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from flamenco.api.enums import FarmStatus, JobStatus, WorkerStatus
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.persistence import Database, PersistenceError, workers
from flamenco.manager.persistence.connection import Connection

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 30.0
FIRST_POLL_DELAY_SECONDS = 1.0


def compute_farm_status(
    worker_counts: Mapping[str, int], job_counts: Mapping[str, int]
) -> FarmStatus:
    """The farm status for these counts of (non-deleted) Workers and jobs per status."""

    def workers_in(*statuses: WorkerStatus) -> int:
        return sum(worker_counts.get(status, 0) for status in statuses)

    def jobs_in(*statuses: JobStatus) -> int:
        return sum(job_counts.get(status, 0) for status in statuses)

    total_workers = sum(worker_counts.values())
    if total_workers == 0 or workers_in(WorkerStatus.OFFLINE, WorkerStatus.ERROR) == total_workers:
        return FarmStatus.INOPERATIVE
    awake = workers_in(WorkerStatus.AWAKE)
    if jobs_in(JobStatus.ACTIVE) and awake:
        return FarmStatus.ACTIVE
    if jobs_in(JobStatus.ACTIVE, JobStatus.QUEUED):
        return FarmStatus.WAITING
    if not awake and workers_in(WorkerStatus.ASLEEP):
        return FarmStatus.ASLEEP
    if not jobs_in(JobStatus.ACTIVE, JobStatus.QUEUED):
        return FarmStatus.IDLE
    return FarmStatus.UNKNOWN


class FarmStatusService:
    """Keeps `status` current in every Manager process; the farm's leader announces changes.

    `announces` tells whether this process leads the farm: with several processes,
    each computes the status for its own getFarmStatus answers, and only one
    publishes the event, so that clients hear each change once.
    """

    def __init__(
        self, *, db: Database, broker: Broker, announces: Callable[[], bool] = lambda: True
    ) -> None:
        self._db = db
        self._broker = broker
        self._announces = announces
        self.status = FarmStatus.STARTING
        self._poll_requested = asyncio.Event()
        broker.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind not in (EventKind.JOB_UPDATE, EventKind.WORKER_UPDATE):
            return
        payload = event.payload
        if payload.get("status") != payload.get("previous_status") or payload.get("was_deleted"):
            self._poll_requested.set()

    async def run(self) -> None:
        await asyncio.sleep(FIRST_POLL_DELAY_SECONDS)
        while True:
            self._poll_requested.clear()
            await self.poll()
            try:
                async with asyncio.timeout(POLL_INTERVAL_SECONDS):
                    await self._poll_requested.wait()
            except TimeoutError:
                pass

    async def poll(self) -> FarmStatus:
        try:
            status = await self._db.read(_compute_blocking)
        except PersistenceError:
            logger.exception("cannot compute farm status, keeping the last one")
            return self.status
        if status != self.status:
            logger.info("farm status changed", extra={"from": self.status, "to": status})
            self.status = status
            if self._announces():
                self._broker.publish(events.farm_status(status))
        return status


def _compute_blocking(conn: Connection) -> FarmStatus:
    return compute_farm_status(
        workers.count_workers_by_status(conn), workers.count_jobs_by_status(conn)
    )
