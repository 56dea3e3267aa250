"""Watchdogs: tasks whose Worker went silent, Workers that went silent, and hung tasks."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flamenco.api import wire
from flamenco.api.enums import TaskStatus, WorkerStatus
from flamenco.clock import Clock
from flamenco.manager.eventbus import events
from flamenco.manager.persistence import Database, jobs, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

# Check often, so that even timeouts of a few seconds (in tests) act promptly;
# upstream checks once a minute after a five-minute delay.
LONGEST_CHECK_INTERVAL = dt.timedelta(seconds=5)
SHORTEST_CHECK_INTERVAL = dt.timedelta(milliseconds=200)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Zero switches a check off."""

    task: dt.timedelta
    worker: dt.timedelta
    no_progress: dt.timedelta = dt.timedelta(0)

    def check_interval(self) -> dt.timedelta | None:
        active = [t for t in (self.task, self.worker, self.no_progress) if t > dt.timedelta(0)]
        if not active:
            return None
        return max(SHORTEST_CHECK_INTERVAL, min(LONGEST_CHECK_INTERVAL, min(active) / 5))


class TimeoutChecker:
    def __init__(
        self, *, db: Database, state_machine: StateMachine, clock: Clock, timeouts: Timeouts
    ) -> None:
        self._db = db
        self._state_machine = state_machine
        self._clock = clock
        self._timeouts = timeouts
        # Silence is only counted while this Manager runs: after a restart, Workers and
        # tasks get a whole timeout to be heard from again (upstream waits 5 minutes
        # before its first check, for the same reason).
        self._started_at = clock.now()

    async def run(self) -> None:
        interval = self._timeouts.check_interval()
        if interval is None:
            logger.info("timeout checks are switched off")
            return
        while True:
            await self._clock.sleep(interval.total_seconds())
            await self.check()

    async def check(self) -> None:
        now = self._clock.now()
        changes = Changes()
        await self._db.write(lambda conn: self._check_blocking(conn, changes, now))
        self._state_machine.publish(changes)

    def _due(self, timeout: dt.timedelta, now: dt.datetime) -> bool:
        """Whether a check with this timeout is on, and this Manager has run that long."""
        return timeout > dt.timedelta(0) and now - self._started_at >= timeout

    def _check_blocking(self, conn: Connection, changes: Changes, now: dt.datetime) -> None:
        timeouts = self._timeouts
        if self._due(timeouts.task, now):
            self._fail_timed_out_tasks(conn, changes, now - timeouts.task, now)
        if self._due(timeouts.no_progress, now):
            self._requeue_hung_tasks(conn, changes, now - timeouts.no_progress, now)
        if self._due(timeouts.worker, now):
            self._error_silent_workers(conn, changes, now - timeouts.worker, now)

    def _fail_timed_out_tasks(
        self, conn: Connection, changes: Changes, before: dt.datetime, now: dt.datetime
    ) -> None:
        for task in jobs.fetch_active_tasks_untouched_since(conn, before):
            worker = f"{task.worker.name} ({task.worker.uuid})" if task.worker else "unknown"
            touched = wire.format_time(task.last_touched_at) if task.last_touched_at else "forever"
            logger.warning("task timed out", extra={"task": task.uuid, "worker": worker})
            jobs.save_task_activity(conn, task.id, f"Task timed out on worker {worker}", now)
            changes.log(
                task.job_uuid,
                task.uuid,
                f"Task timed out. It was assigned to worker {worker}, "
                f"but untouched since {touched}",
            )
            self._state_machine.apply_task_status(
                conn, changes, jobs.fetch_task_by_id(conn, task.id), TaskStatus.FAILED, now
            )

    def _requeue_hung_tasks(
        self, conn: Connection, changes: Changes, before: dt.datetime, now: dt.datetime
    ) -> None:
        """Beyond upstream: a task whose Worker answers but that shows no progress is hung."""
        silent_for = wire.format_duration_words(now - before)
        for task in jobs.fetch_active_tasks_without_progress_since(conn, before):
            worker = f"{task.worker.name} ({task.worker.uuid})" if task.worker else "unknown"
            logger.warning("task made no progress, requeueing", extra={"task": task.uuid})
            message = (
                f"Task made no progress for {silent_for} on worker {worker}; "
                "the Manager considers it hung and requeues it"
            )
            jobs.save_task_activity(conn, task.id, message, now)
            changes.log(task.job_uuid, task.uuid, message)
            self._state_machine.apply_task_status(
                conn, changes, jobs.fetch_task_by_id(conn, task.id), TaskStatus.QUEUED, now
            )

    def _error_silent_workers(
        self, conn: Connection, changes: Changes, before: dt.datetime, now: dt.datetime
    ) -> None:
        for worker in workers.fetch_workers_unseen_since(conn, before):
            logger.warning(
                "worker timed out", extra={"worker": worker.uuid, "worker_name": worker.name}
            )
            workers.save_status(conn, worker.id, WorkerStatus.ERROR, now)
            workers.save_status_request(conn, worker.id, None, False, now)
            self._state_machine.apply_requeue_worker_tasks(
                conn, changes, worker, "worker timed out", now
            )
            changes.event(
                events.worker_updated(
                    workers.fetch_worker_by_id(conn, worker.id), previous_status=worker.status
                )
            )
