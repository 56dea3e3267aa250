"""Handing tasks to Workers: scheduling, and whether a Worker may keep running its task."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flamenco.api.enums import TaskStatus, WorkerStatus
from flamenco.clock import Clock
from flamenco.manager.eventbus import events
from flamenco.manager.metrics.recorder import NO_METRICS, Recorder
from flamenco.manager.persistence import Database, errors, jobs, scheduler, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job, Task, TaskRef, Worker
from flamenco.manager.services.task_updates import ensure_assigned
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusChangeRequired:
    """The Worker must change status before it gets work."""

    status: WorkerStatus


@dataclass(frozen=True, slots=True)
class NotAwake:
    status: WorkerStatus


@dataclass(frozen=True, slots=True)
class NoTask:
    pass


@dataclass(frozen=True, slots=True)
class Assigned:
    task: Task
    job: Job
    worker: Worker


ScheduleResult = StatusChangeRequired | NotAwake | NoTask | Assigned


@dataclass(frozen=True, slots=True)
class MayKeepRunning:
    may_keep_running: bool
    reason: str = ""
    status_change_requested: bool = False


class TaskScheduler:
    def __init__(
        self,
        *,
        db: Database,
        state_machine: StateMachine,
        clock: Clock,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._db = db
        self._state_machine = state_machine
        self._clock = clock
        self._metrics = metrics

    async def schedule(self, worker_uuid: str) -> ScheduleResult:
        """Find the Worker a task and make it active, all in one transaction."""
        now = self._clock.now()

        def transaction(conn: Connection) -> tuple[ScheduleResult, Changes]:
            # Made here, so that a transaction run again (see Database.write) starts afresh.
            changes = Changes()
            # Asking for work counts as being seen, whatever the answer.
            worker = workers.fetch_worker_marking_seen(conn, worker_uuid, now)
            if worker.status_requested is not None:
                return StatusChangeRequired(worker.status_requested), changes
            if worker.status != WorkerStatus.AWAKE:
                return NotAwake(worker.status), changes

            task = scheduler.fetch_assigned_active_task(conn, worker)
            if task is None:
                task = scheduler.find_runnable_task(conn, worker)
            if task is None:
                return NoTask(), changes

            jobs.assign_task(conn, task.id, worker.id, now)
            changes.log(
                task.job_uuid, task.uuid, f"Task assigned to worker {worker.name} ({worker.uuid})"
            )
            applied = self._state_machine.apply_task_status(
                conn, changes, task, TaskStatus.ACTIVE, now
            )
            changes.event(events.worker_updated(worker))
            return Assigned(task=applied.task, job=applied.job, worker=worker), changes

        result, changes = await self._db.write(transaction, urgent=True, retry=True)
        self._state_machine.publish(changes)
        if isinstance(result, Assigned):
            self._metrics.task_assigned(result.task.task_type)
            logger.info(
                "task assigned to worker",
                extra={"task": result.task.uuid, "worker": worker_uuid},
            )
        return result

    async def task_of_worker_seen(self, worker_uuid: str, task_uuid: str) -> TaskRef:
        """Mark the Worker as seen and look up a task it reports on.

        Raises TaskNotFound, or TaskNotAssigned when the task is another Worker's (upstream
        takes anything; we do not let one Worker show its images as another's task's).
        """
        now = self._clock.now()

        def transaction(conn: Connection) -> TaskRef:
            task, worker_id = jobs.fetch_task_ref_for_worker(conn, task_uuid, worker_uuid)
            ensure_assigned(task, worker_id)
            workers.mark_seen(conn, worker_id, now)
            return task

        return await self._db.write(transaction, retry=True)

    async def may_keep_running(self, worker_uuid: str, task_uuid: str) -> MayKeepRunning:
        now = self._clock.now()

        def transaction(conn: Connection) -> MayKeepRunning:
            worker = workers.fetch_worker_marking_seen(conn, worker_uuid, now)
            # In upstream's order: the task must exist before anything else is asked.
            try:
                task = jobs.fetch_task(conn, task_uuid)
            except errors.TaskNotFound:
                return MayKeepRunning(False, "Task not found")
            if worker.status_requested is not None and not worker.lazy_status_request:
                return MayKeepRunning(False, "worker status change requested", True)
            if task.worker is None or task.worker.id != worker.id:
                return MayKeepRunning(False, "task not assigned to this worker")
            if task.status != TaskStatus.ACTIVE:
                return MayKeepRunning(False, f'task is in non-runnable status "{task.status}"')
            jobs.touch_task(conn, task.id, now)
            return MayKeepRunning(True)

        return await self._db.write(transaction, retry=True)
