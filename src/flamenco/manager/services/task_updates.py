"""What Workers report about their tasks: status, activity, progress, logs and failures.

Each report is loaded, decided (state_machine.transitions, state_machine.failure_rules)
and applied in one write transaction; events and log lines go out after commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import Clock
from flamenco.manager.errors import RequestRefused
from flamenco.manager.eventbus import events
from flamenco.manager.metrics.recorder import NO_METRICS, Recorder
from flamenco.manager.persistence import Database, failures, jobs, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Task, TaskRef, Worker
from flamenco.manager.render_statistics.recorder import FrameRecorder
from flamenco.manager.services.progress_reports import ProgressReports
from flamenco.manager.services.task_logs import TaskLogs
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.failure_rules import (
    FailureFacts,
    FailurePolicy,
    FailureVerdict,
    decide_failure,
)
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

CONCURRENT_UPDATES = 16


class TaskNotAssigned(RequestRefused):
    """The task is not assigned to the Worker that sent the update."""

    status = 409


def ensure_assigned(task: TaskRef, worker_id: int) -> None:
    """Refuse what a Worker sends about a task that is not (or no longer) its own."""
    if task.worker_id is None:
        raise TaskNotAssigned(f"task {task.uuid} is not assigned to any worker, so also not to you")
    if task.worker_id != worker_id:
        raise TaskNotAssigned(f"task {task.uuid} is not assigned to you")


class StatusNotAllowed(RequestRefused):
    """Workers may not set this status; the Manager decides about soft failures."""

    status = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdate:
    status: TaskStatus | None = None
    activity: str | None = None
    log: str | None = None
    steps_completed: int | None = None


def _only_progress(update: TaskUpdate) -> bool:
    """Whether the report changes neither the task's status nor its steps."""
    return update.status is None and update.steps_completed is None


def _plural(count: int, word: str, *, with_count: bool = True) -> str:
    form = word if count == 1 else f"{word}s"
    return f"{count} {form}" if with_count else form


class TaskUpdates:
    def __init__(
        self,
        *,
        db: Database,
        state_machine: StateMachine,
        task_logs: TaskLogs,
        clock: Clock,
        failure_policy: FailurePolicy,
        frame_recorder: FrameRecorder | None = None,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._db = db
        self._frame_recorder = frame_recorder
        self._state_machine = state_machine
        self._task_logs = task_logs
        self._clock = clock
        self._policy = failure_policy
        self._progress_reports = ProgressReports(db)
        # A flood of reports queues here, cheaply, instead of crowding the event loop
        # and the database queue that every other request needs too.
        self._in_progress = asyncio.Semaphore(CONCURRENT_UPDATES)

    async def update(self, worker_uuid: str, task_uuid: str, update: TaskUpdate) -> None:
        if _only_progress(update):
            # Saved in batches (see ProgressReports), which bound the database's load.
            await self._update(worker_uuid, task_uuid, update)
            return
        async with self._in_progress:
            await self._update(worker_uuid, task_uuid, update)

    async def _update(self, worker_uuid: str, task_uuid: str, update: TaskUpdate) -> None:
        if update.status == TaskStatus.SOFT_FAILED:
            raise StatusNotAllowed(f"task status {update.status} not allowed to be sent by Worker")
        now = self._clock.now()
        progressed = bool(update.log or update.status) or update.steps_completed is not None

        if _only_progress(update):
            # Most reports only say "still at it": those are saved in batches.
            task, worker_id = await self._progress_reports.record(
                jobs.ProgressReport(
                    task_uuid=task_uuid,
                    worker_uuid=worker_uuid,
                    activity=update.activity,
                    now=now,
                    progressed=progressed,
                )
            )
            ensure_assigned(task, worker_id)
            changes = Changes()
        else:

            def transaction(conn: Connection) -> tuple[TaskRef, Changes]:
                # Made here, so that a transaction run again (see Database.write) starts afresh.
                changes = Changes()
                task, worker_id = jobs.record_progress(
                    conn, task_uuid, worker_uuid, update.activity, now, progressed=progressed
                )
                ensure_assigned(task, worker_id)
                self._apply(conn, changes, worker_id, task, update, now)
                return task, changes

            task, changes = await self._db.write(transaction, retry=True)
        if self._frame_recorder is not None:
            ended = update.status is not None and update.status != TaskStatus.ACTIVE
            if update.log or ended:
                self._frame_recorder.observe_log(
                    task.job_uuid, task.uuid, worker_uuid, update.log or "", task_ended=ended
                )
        self._metrics.task_update()
        if update.status == TaskStatus.FAILED:
            self._metrics.task_failed(task.task_type)
        try:
            # The Worker's own log goes first: it likely explains the status change
            # that the Manager's log lines describe.
            if update.log:
                await self._task_logs.write(task.job_uuid, task.uuid, update.log)
        finally:
            # Saved is saved: clients hear of it even when the log did not fit on the disk.
            self._state_machine.publish(changes)

    def _apply(
        self,
        conn: Connection,
        changes: Changes,
        worker_id: int,
        task: TaskRef,
        update: TaskUpdate,
        now: dt.datetime,
    ) -> None:
        """Progress and status; the task's activity and touch time are already saved."""
        steps_changed = False
        if update.steps_completed is not None:
            steps_completed = max(0, min(update.steps_completed, task.steps_total))
            if steps_completed != task.steps_completed:
                jobs.save_task_steps_completed(conn, task.id, steps_completed, now)
                jobs.add_job_steps_completed(
                    conn, task.job_id, steps_completed - task.steps_completed, now
                )
                steps_changed = True

        if update.status is None or update.status == task.status:
            if steps_changed:
                changes.event(events.job_updated(jobs.fetch_job_by_id(conn, task.job_id)))
                changes.event(events.task_updated(jobs.fetch_task_by_id(conn, task.id)))
            return
        full_task = jobs.fetch_task_by_id(conn, task.id)
        if update.status == TaskStatus.FAILED:
            worker = workers.fetch_worker_by_id(conn, worker_id)
            self._on_task_failed(conn, changes, worker, full_task, now)
        else:
            self._state_machine.apply_task_status(conn, changes, full_task, update.status, now)

    def _on_task_failed(
        self,
        conn: Connection,
        changes: Changes,
        worker: Worker,
        task: Task,
        now: dt.datetime,
    ) -> None:
        """Record the failure, ask the failure rules what it means, and carry that out."""
        facts = FailureFacts(
            workers_failed_task=failures.add_task_failure(conn, task.id, worker.id, now),
            worker_failures_of_type=failures.count_task_failures_of_worker(
                conn, task.job_id, worker.id, task.task_type
            ),
            workers_left=len(self._workers_left(conn, task)),
        )
        decision = decide_failure(facts, self._policy)
        if decision.block_worker:
            logger.warning(
                "blocklisting worker",
                extra={"worker": worker.uuid, "job": task.job_uuid, "task_type": task.task_type},
            )
            failures.add_job_block(conn, task.job_id, worker.id, task.task_type, now)
        if decision.requeue_workers_failed_tasks:
            reason = f"worker {worker.name} was blocked from tasks of type {task.task_type!r}"
            self._state_machine.apply_requeue_worker_tasks(
                conn,
                changes,
                worker,
                reason,
                now,
                from_status=TaskStatus.FAILED,
                job_id=task.job_id,
            )
        num_failed = facts.workers_failed_task
        match decision.verdict:
            case FailureVerdict.FAIL_JOB:
                self._fail_job(conn, changes, worker, task, now)
            case FailureVerdict.HARD_FAIL:
                changes.log(
                    task.job_uuid,
                    task.uuid,
                    f"Task failed by {_plural(num_failed, 'worker')}, "
                    "Manager will mark it as hard failure",
                )
                self._state_machine.apply_task_status(conn, changes, task, TaskStatus.FAILED, now)
            case FailureVerdict.SOFT_FAIL:
                remaining = self._policy.fail_after_softfail_count - num_failed
                changes.log(
                    task.job_uuid,
                    task.uuid,
                    f"Task failed by {_plural(num_failed, 'worker')}, Manager will mark it as "
                    f"soft failure. {remaining} more "
                    f"{_plural(remaining, 'failure', with_count=False)} will cause hard failure.",
                )
                self._state_machine.apply_task_status(
                    conn, changes, task, TaskStatus.SOFT_FAILED, now
                )

    def _workers_left(self, conn: Connection, task: Task) -> set[str]:
        """Workers that could still run this task: capable, not blocked, not failed it before."""
        able = failures.workers_able_to_run(conn, task.job_id, task.task_type)
        return able - {failer.uuid for failer in failures.fetch_task_failers(conn, task.id)}

    def _fail_job(
        self,
        conn: Connection,
        changes: Changes,
        worker: Worker,
        task: Task,
        now: dt.datetime,
    ) -> None:
        changes.log(
            task.job_uuid,
            task.uuid,
            f"Task failed by worker {worker.name} ({worker.uuid}), Manager will fail the entire "
            f'job as there are no more workers left for tasks of type "{task.task_type}".',
        )
        self._state_machine.apply_task_status(conn, changes, task, TaskStatus.FAILED, now)
        job = jobs.fetch_job_by_id(conn, task.job_id)
        reason = f'no more workers left to run tasks of type "{task.task_type}"'
        self._state_machine.apply_job_status(conn, changes, job, JobStatus.FAILED, reason, now)
