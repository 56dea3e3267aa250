"""Watchdogs: tasks whose Worker went silent, Workers that went silent, and hung tasks."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flamenco.api import wire
from flamenco.api.enums import TaskStatus, WorkerStatus
from flamenco.clock import Clock
from flamenco.manager.eventbus import events
from flamenco.manager.persistence import Database, jobs, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Task, Worker
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

# A task or Worker that the checks found silent.
Silent = TypeVar("Silent", Task, Worker)

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
        """Each silent task and Worker in a short write transaction of its own.

        Each locks its task or Worker, checks that it is still silent, then locks
        the job: the order in which every transaction takes its locks. One
        transaction for all would hold the job of one while it waits for the next
        Worker, whose own request holds that Worker while it waits for the job.
        """
        now = self._clock.now()
        timeouts = self._timeouts
        if self._due(timeouts.task, now):
            await self._each(
                jobs.fetch_active_tasks_untouched_since,
                self._fail_timed_out_task,
                now - timeouts.task,
                now,
            )
        if self._due(timeouts.no_progress, now):
            await self._each(
                jobs.fetch_active_tasks_without_progress_since,
                self._requeue_hung_task,
                now - timeouts.no_progress,
                now,
            )
        if self._due(timeouts.worker, now):
            await self._each(
                workers.fetch_workers_unseen_since,
                self._error_silent_worker,
                now - timeouts.worker,
                now,
            )

    async def _each(
        self,
        find: Callable[[Connection, dt.datetime], list[Silent]],
        handle: Callable[[Changes, Silent, dt.datetime, dt.datetime, Connection], None],
        before: dt.datetime,
        now: dt.datetime,
    ) -> None:
        for silent in await self._db.read(functools.partial(_flipped, find, before)):
            changes = Changes()
            await self._db.write(functools.partial(handle, changes, silent, before, now))
            self._state_machine.publish(changes)

    def _due(self, timeout: dt.timedelta, now: dt.datetime) -> bool:
        """Whether a check with this timeout is on, and this Manager has run that long."""
        return timeout > dt.timedelta(0) and now - self._started_at >= timeout

    def _fail_timed_out_task(
        self, changes: Changes, task: Task, before: dt.datetime, now: dt.datetime, conn: Connection
    ) -> None:
        worker = f"{task.worker.name} ({task.worker.uuid})" if task.worker else "unknown"
        activity = f"Task timed out on worker {worker}"
        if not jobs.save_activity_if_untouched_since(conn, task.id, activity, before, now):
            return  # Touched after all, since it was found.
        logger.warning("task timed out", extra={"task": task.uuid, "worker": worker})
        touched = wire.format_time(task.last_touched_at) if task.last_touched_at else "forever"
        changes.log(
            task.job_uuid,
            task.uuid,
            f"Task timed out. It was assigned to worker {worker}, but untouched since {touched}",
        )
        self._state_machine.apply_task_status(
            conn, changes, jobs.fetch_task_by_id(conn, task.id), TaskStatus.FAILED, now
        )

    def _requeue_hung_task(
        self, changes: Changes, task: Task, before: dt.datetime, now: dt.datetime, conn: Connection
    ) -> None:
        """Beyond upstream: a task whose Worker answers but that shows no progress is hung."""
        silent_for = wire.format_duration_words(now - before)
        worker = f"{task.worker.name} ({task.worker.uuid})" if task.worker else "unknown"
        message = (
            f"Task made no progress for {silent_for} on worker {worker}; "
            "the Manager considers it hung and requeues it"
        )
        if not jobs.save_activity_if_no_progress_since(conn, task.id, message, before, now):
            return
        logger.warning("task made no progress, requeueing", extra={"task": task.uuid})
        changes.log(task.job_uuid, task.uuid, message)
        self._state_machine.apply_task_status(
            conn, changes, jobs.fetch_task_by_id(conn, task.id), TaskStatus.QUEUED, now
        )

    def _error_silent_worker(
        self,
        changes: Changes,
        worker: Worker,
        before: dt.datetime,
        now: dt.datetime,
        conn: Connection,
    ) -> None:
        if not workers.save_status_if_unseen_since(
            conn, worker.id, WorkerStatus.ERROR, before, now
        ):
            return  # Heard from after all, since it was found.
        logger.warning(
            "worker timed out", extra={"worker": worker.uuid, "worker_name": worker.name}
        )
        self._state_machine.outbox.worker_status_changed(
            conn, worker, WorkerStatus.ERROR, now, detail="worker timed out"
        )
        workers.save_status_request(conn, worker.id, None, False, now)
        self._state_machine.apply_requeue_worker_tasks(
            conn, changes, worker, "worker timed out", now
        )
        changes.event(
            events.worker_updated(
                workers.fetch_worker_by_id(conn, worker.id), previous_status=worker.status
            )
        )


def _flipped(
    find: Callable[[Connection, dt.datetime], list[Silent]], before: dt.datetime, conn: Connection
) -> list[Silent]:
    return find(conn, before)
