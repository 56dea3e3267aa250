"""Applying Worker sleep schedules: on a timer, when a schedule is saved, and at sign-on."""

from __future__ import annotations

import datetime as dt
import logging

from flamenco.api.enums import WorkerStatus
from flamenco.clock import Clock
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.persistence import Database, sleep_schedules, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import SleepSchedule, Worker
from flamenco.manager.services.sleep_schedule import Schedule, request_to_apply
from flamenco.manager.state_machine.changes import Changes

logger = logging.getLogger(__name__)

FIRST_CHECK_DELAY_SECONDS = 2.0
# Schedules change status on whole minutes; checking often keeps the delay small.
CHECK_INTERVAL_SECONDS = 10.0


def _schedule_of(record: SleepSchedule) -> Schedule:
    return Schedule(
        is_active=record.is_active,
        days_of_week=record.days_of_week,
        start_time=record.start_time,
        end_time=record.end_time,
    )


class SleepScheduler:
    def __init__(self, *, db: Database, broker: Broker, clock: Clock) -> None:
        self._db = db
        self._broker = broker
        self._clock = clock

    def _local_now(self) -> dt.datetime:
        return self._clock.now().astimezone()

    async def run(self) -> None:
        await self._clock.sleep(FIRST_CHECK_DELAY_SECONDS)
        while True:
            await self.check_due()
            await self._clock.sleep(CHECK_INTERVAL_SECONDS)

    async def check_due(self) -> None:
        now = self._local_now()
        changes = Changes()

        def transaction(conn: Connection) -> None:
            for record in sleep_schedules.fetch_due(conn, now):
                schedule = _schedule_of(record)
                sleep_schedules.save_next_check(conn, record.worker_id, schedule.next_check(now))
                worker = workers.fetch_worker_by_id(conn, record.worker_id)
                self._apply(conn, changes, worker, schedule.status_at(now))

        await self._db.write(transaction)
        for event in changes.events:
            self._broker.publish(event)

    async def fetch(self, worker_uuid: str) -> Schedule | None:
        def transaction(conn: Connection) -> Schedule | None:
            record = sleep_schedules.fetch(conn, workers.fetch_worker_id(conn, worker_uuid))
            return None if record is None else _schedule_of(record)

        return await self._db.read(transaction)

    async def save(self, worker_uuid: str, schedule: Schedule) -> None:
        """Store the schedule and apply it right away."""
        now = self._local_now()
        changes = Changes()

        def transaction(conn: Connection) -> None:
            worker = workers.fetch_worker(conn, worker_uuid)
            sleep_schedules.save(
                conn,
                worker.id,
                is_active=schedule.is_active,
                days_of_week=schedule.days_of_week,
                start_time=schedule.start_time,
                end_time=schedule.end_time,
                next_check=schedule.next_check(now),
                now=now,
            )
            # Every save applies, as upstream: an inactive schedule asks for awake, so a
            # Worker it had sent to sleep wakes up at once.
            self._apply(conn, changes, worker, schedule.status_at(now))

        await self._db.write(transaction)
        for event in changes.events:
            self._broker.publish(event)

    def initial_status(self, conn: Connection, worker: Worker) -> WorkerStatus:
        """The status a Worker signing on without a pending request should go to."""
        record = sleep_schedules.fetch(conn, worker.id)
        if record is None:
            return WorkerStatus.AWAKE
        return _schedule_of(record).status_at(self._local_now())

    def _apply(
        self, conn: Connection, changes: Changes, worker: Worker, scheduled: WorkerStatus
    ) -> None:
        request = request_to_apply(
            status=worker.status,
            requested=worker.status_requested,
            lazy=worker.lazy_status_request,
            scheduled=scheduled,
        )
        if request is None:
            return
        logger.info(
            "sleep schedule changes worker status",
            extra={"worker": worker.uuid, "status": request},
        )
        # Never lazy, as upstream: a render can run for hours.
        workers.save_status_request(conn, worker.id, request, False, self._clock.now())
        changes.event(events.worker_updated(workers.fetch_worker_by_id(conn, worker.id)))
