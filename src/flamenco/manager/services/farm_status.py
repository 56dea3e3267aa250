"""The farm's overall status and its alarms, recomputed on events and periodically, broadcast."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import cast

from flamenco.api import wire
from flamenco.api.enums import AlarmKind, FarmStatus, JobStatus, WorkerStatus
from flamenco.clock import Clock, SystemClock
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.payloads import EventFarmStatus, FarmAlarm
from flamenco.manager.persistence import Database, PersistenceError, workers
from flamenco.manager.persistence.connection import Connection

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 30.0
FIRST_POLL_DELAY_SECONDS = 1.0
# Polls that events ask for come at most this often: a busy farm publishes a Worker
# update for every task it hands out, and a poll per event cost more than the
# scheduling itself. The first event after a quiet spell still polls at once.
EVENT_POLL_SPACING_SECONDS = 0.1


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


@dataclasses.dataclass(frozen=True, slots=True)
class Alarm:
    """A farm-wide problem that needs an operator; it stays until its condition is gone."""

    kind: AlarmKind
    message: str
    since: dt.datetime


class FarmStatusService:
    """Keeps `status` current in every Manager process; the farm's leader announces changes.

    `announces` tells whether this process leads the farm: with several processes,
    each computes the status for its own getFarmStatus answers, and only one
    publishes the event, so that clients hear each change once.
    """

    def __init__(
        self,
        *,
        db: Database,
        broker: Broker,
        clock: Clock | None = None,
        announces: Callable[[], bool] = lambda: True,
    ) -> None:
        self._db = db
        self._broker = broker
        self._clock = clock or SystemClock()
        self._announces = announces
        self.status = FarmStatus.STARTING
        self._alarms: dict[AlarmKind, Alarm] = {}
        self._poll_requested = asyncio.Event()
        broker.subscribe(self._on_event)

    @property
    def alarms(self) -> list[Alarm]:
        return list(self._alarms.values())

    def report(self) -> EventFarmStatus:
        """The FarmStatusReport: upstream's `status`, and our `alarms` only while there are any."""
        return events.farm_status(self.status, self._alarm_payloads()).payload  # type: ignore[return-value]

    def _alarm_payloads(self) -> list[FarmAlarm]:
        return [
            {"kind": alarm.kind, "message": alarm.message, "since": wire.format_time(alarm.since)}
            for alarm in self._alarms.values()
        ]

    def raise_alarm(self, kind: AlarmKind, message: str) -> None:
        """Raise (or re-word) an alarm; it is broadcast with the farm status."""
        current = self._alarms.get(kind)
        if current is not None and current.message == message:
            return
        since = current.since if current is not None else self._clock.now()
        self._alarms[kind] = Alarm(kind, message, since)
        self._publish()

    def clear_alarm(self, kind: AlarmKind) -> None:
        if self._alarms.pop(kind, None) is not None:
            logger.warning("farm alarm cleared", extra={"alarm": kind})
            self._publish()

    def _publish(self) -> None:
        if self._announces():
            self._broker.publish(events.farm_status(self.status, self._alarm_payloads()))

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.FARM_STATUS:
            if not self._announces():
                self._adopt(cast(EventFarmStatus, event.payload))
            return
        if event.kind not in (EventKind.JOB_UPDATE, EventKind.WORKER_UPDATE):
            return
        payload = event.payload
        if payload.get("status") != payload.get("previous_status") or payload.get("was_deleted"):
            self._poll_requested.set()

    def _adopt(self, report: EventFarmStatus) -> None:
        """Take the leading process's word for the farm's status and alarms."""
        self.status = FarmStatus(report["status"])
        self._alarms = {
            AlarmKind(alarm["kind"]): Alarm(
                AlarmKind(alarm["kind"]), alarm["message"], wire.parse_time(alarm["since"])
            )
            for alarm in report.get("alarms", [])
        }

    async def run(self) -> None:
        await asyncio.sleep(FIRST_POLL_DELAY_SECONDS)
        loop = asyncio.get_running_loop()
        while True:
            self._poll_requested.clear()
            polled_at = loop.time()
            await self.poll()
            try:
                async with asyncio.timeout(POLL_INTERVAL_SECONDS):
                    await self._poll_requested.wait()
            except TimeoutError:
                continue
            await asyncio.sleep(polled_at + EVENT_POLL_SPACING_SECONDS - loop.time())

    async def poll(self) -> FarmStatus:
        try:
            status = await self._db.read(_compute_blocking)
        except PersistenceError:
            logger.exception("cannot compute farm status, keeping the last one")
            return self.status
        if status != self.status:
            logger.info("farm status changed", extra={"from": self.status, "to": status})
            self.status = status
            self._publish()
        return status


def _compute_blocking(conn: Connection) -> FarmStatus:
    return compute_farm_status(
        workers.count_workers_by_status(conn), workers.count_jobs_by_status(conn)
    )
