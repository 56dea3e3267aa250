"""The state machine service: loads, decides with the pure rules, persists and broadcasts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import Clock
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.metrics.recorder import NO_METRICS, Recorder, TaskTransition
from flamenco.manager.notifications.outbox import Outbox
from flamenco.manager.persistence import Database, job_dependencies, jobs
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job, Task, TaskRef, Worker
from flamenco.manager.services.task_logs import TaskLogs
from flamenco.manager.state_machine import job_graph_rules, transitions
from flamenco.manager.state_machine.changes import Changes

logger = logging.getLogger(__name__)

# A batch small enough that a Worker waiting behind it hardly notices.
TASKS_PER_TRANSACTION = 500


@dataclass(frozen=True, slots=True)
class TaskStatusApplied:
    """The task and its job as apply_task_status() left them, ripple effects included."""

    task: Task
    job: Job


class _TaskCountsOnDemand(Mapping[TaskStatus, int]):
    """A job's task counts per status, counted only when a rule reads them.

    Counting groups all of the job's tasks, and most changes (a task handed to a
    Worker, above all) are decided without the counts.
    """

    def __init__(self, conn: Connection, job_id: int) -> None:
        self._conn = conn
        self._job_id = job_id
        self._counts: dict[TaskStatus, int] | None = None

    def _load(self) -> dict[TaskStatus, int]:
        if self._counts is None:
            self._counts = jobs.count_tasks_by_status(self._conn, self._job_id)
        return self._counts

    def __getitem__(self, status: TaskStatus) -> int:
        return self._load()[status]

    def __iter__(self) -> Iterator[TaskStatus]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@dataclass(frozen=True, slots=True)
class _EnteredStatus:
    """A job status that change_job_status() has saved, and what it does to the tasks."""

    job_id: int
    status: JobStatus
    previous_status: JobStatus
    effect: transitions.JobStatusEffect


class StateMachine:
    """Applies task and job status changes and their ripple effects.

    The `apply_*` methods run synchronously inside a write transaction that the
    caller owns, so that other services can combine a status change with their
    own writes; they record events and log lines in `changes`, which the caller
    hands to `publish()` after the commit. The other methods are complete
    operations that do all of that themselves.
    """

    def __init__(
        self,
        db: Database,
        broker: Broker,
        task_logs: TaskLogs,
        clock: Clock,
        *,
        outbox: Outbox | None = None,
        record_task_runs: bool = False,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._db = db
        self._broker = broker
        self._task_logs = task_logs
        self._clock = clock
        # Notifications are recorded in the transaction of the change they tell of.
        self.outbox = outbox or Outbox.disabled()
        self._record_task_runs = record_task_runs
        self._metrics = metrics

    def publish(self, changes: Changes) -> None:
        """Queue the Manager's log lines and send the events of a committed change.

        Nobody waits for the log lines to reach the disk: a Worker asking for a task
        should not wait behind the log writes of a thousand others, and reading a
        log waits for what is queued.
        """
        for line in changes.log_lines:
            self._task_logs.append_timestamped(line.job_uuid, line.task_uuid, line.text)
        for event in changes.events:
            self._broker.publish(event)
        if changes.task_transitions:
            self._metrics.task_transitions(changes.task_transitions)

    async def check_stuck(self) -> None:
        """Finish the task updates of jobs that the Manager left halfway, e.g. by stopping."""
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> int:
            stuck = jobs.fetch_jobs_in_status(conn, transitions.STUCK_JOB_STATUSES)
            for job in stuck:
                self._reenforce_job_status(conn, changes, job, "checking stuck jobs", now)
            if job_dependencies.reconcile_job_waiting(conn):
                changes.event(events.work_available())
            return len(stuck)

        count = await self._db.write(transaction)
        if count:
            logger.info("re-enforced the status of %d stuck jobs", count)
        self.publish(changes)

    def apply_task_status(
        self,
        conn: Connection,
        changes: Changes,
        task: Task | TaskRef,
        new_status: TaskStatus,
        now: dt.datetime,
        *,
        assign_to: int | None = None,
    ) -> TaskStatusApplied:
        """Give the task a new status, then let the change ripple to its job.

        With `assign_to`, the task becomes that Worker's in the same statement.

        `task` is expected to still have its original status; a TaskRef will do,
        as only its status and steps count. Returns the task and job as they are
        now, so that callers need not fetch them again.
        """
        old_status = task.status
        if self._metrics.enabled and old_status != new_status:
            since = jobs.fetch_task_status_since(conn, task)
            changes.task_transitions.append(
                TaskTransition(
                    task.task_type,
                    old_status,
                    new_status,
                    None if since is None else (now - since).total_seconds(),
                )
            )
        # Task first, then job: every transaction takes its locks in this order. Other
        # changes to this job's tasks wait for the job's lock until this transaction
        # ends, so as little as possible happens after it.
        changed = jobs.change_task_status(
            conn, task, new_status, now, assign_to=assign_to, record_run=self._record_task_runs
        )
        updated, job, steps_delta = changed.task, changed.job, changed.steps_delta
        if old_status != new_status:
            changes.log(job.uuid, task.uuid, f"task changed status {old_status} -> {new_status}")
        changes.event(events.task_updated(updated, previous_status=old_status))

        counts = _TaskCountsOnDemand(conn, job.id)
        job_change = transitions.job_change_after_task_change(job.status, new_status, counts)
        if job_change is not None:
            job = self.apply_job_status(
                conn, changes, job, job_change.status, job_change.reason, now
            )
            # The job's new status may have changed its tasks too (cancelled them, say).
            updated = jobs.fetch_task_by_id(conn, task.id)
        elif steps_delta:
            changes.event(events.job_updated(job))
        if new_status == TaskStatus.COMPLETED and old_status != new_status:
            # An approval gate behind this task may now wait for a person.
            self.outbox.task_completed(conn, task.id, job, now)
        return TaskStatusApplied(updated, job)

    async def change_job_status(
        self,
        job_uuid: str,
        new_status: JobStatus,
        reason: str,
        *,
        prepare: Callable[[Connection, Job], None] | None = None,
    ) -> None:
        """Give the job a new status, one short transaction at a time.

        Does what apply_job_status() does, but changes the tasks of a big job in
        batches, so that cancelling or requeueing 10,000 tasks never holds the
        database for long: Workers keep getting answers meanwhile. In between,
        the job is in a status that no task is scheduled in (cancel-requested,
        requeueing, pause-requested), and that check_stuck() finishes should the
        Manager stop halfway. `prepare` runs first, in the first transaction; it
        may raise to refuse the change.
        """
        now = self._clock.now()
        next_status: JobStatus | None = new_status
        check = prepare
        while next_status is not None:
            told = Changes()
            entered = await self._db.write(
                functools.partial(self._enter_step, job_uuid, next_status, reason, now, check, told)
            )
            self.publish(told)
            check = None
            if entered is None:
                return
            if entered.effect.task_update is not None:
                await self._update_tasks_in_batches(entered.job_id, entered.effect.task_update, now)
            changes = Changes()
            next_status = await self._db.write(
                functools.partial(self._finish_step, entered, changes)
            )
            self.publish(changes)

    def _enter_step(
        self,
        job_uuid: str,
        status: JobStatus,
        reason: str,
        now: dt.datetime,
        prepare: Callable[[Connection, Job], None] | None,
        told: Changes,
        conn: Connection,
    ) -> _EnteredStatus | None:
        job = jobs.fetch_job(conn, job_uuid)
        if prepare is not None:
            prepare(conn, job)
        if status == job.status:
            return None
        logger.info("job status changed", extra={"job": job_uuid, "from": job.status, "to": status})
        activity = f'Changed to status "{status}": {reason}'
        jobs.save_job_status(conn, job.id, status, activity, now)
        self.outbox.job_status_changed(conn, job, status, now, detail=activity)
        # In the same transaction as the status: the jobs waiting for this one must
        # never miss that it completed.
        self._tell_dependents(conn, told, dataclasses.replace(job, status=status), now)
        effect = transitions.effect_of_job_status(status, job.status)
        return _EnteredStatus(job.id, status, job.status, effect)

    def _finish_step(
        self, entered: _EnteredStatus, changes: Changes, conn: Connection
    ) -> JobStatus | None:
        if entered.effect.task_update is not None:
            jobs.recompute_job_steps(conn, entered.job_id)
        counts = jobs.count_tasks_by_status(conn, entered.job_id)
        job = jobs.fetch_job_by_id(conn, entered.job_id)
        changes.event(
            events.job_updated(
                job,
                previous_status=entered.previous_status,
                refresh_tasks=entered.effect.refresh_tasks,
            )
        )
        return transitions.next_job_status(entered.status, entered.effect, counts)

    async def _update_tasks_in_batches(
        self, job_id: int, update: transitions.TaskMassUpdate, now: dt.datetime
    ) -> None:
        after_id: int | None = 0
        while after_id is not None:
            after_id = await self._db.write(
                functools.partial(
                    jobs.update_job_tasks_batch,
                    job_id=job_id,
                    new_status=update.to_status,
                    activity=update.activity,
                    now=now,
                    only_statuses=update.from_statuses,
                    after_id=after_id,
                    limit=TASKS_PER_TRANSACTION,
                )
            )

    def apply_job_status(
        self,
        conn: Connection,
        changes: Changes,
        job: Job,
        new_status: JobStatus,
        reason: str,
        now: dt.datetime,
    ) -> Job:
        """Give the job a new status, and keep following the changes that causes.

        Returns the job as it is now.
        """
        next_status: JobStatus | None = new_status
        while next_status is not None and next_status != job.status:
            activity = f'Changed to status "{next_status}": {reason}'
            job, next_status = self._enter_job_status(
                conn, changes, job, next_status, activity, now
            )
        return job

    def _reenforce_job_status(
        self, conn: Connection, changes: Changes, job: Job, reason: str, now: dt.datetime
    ) -> None:
        activity = f'Reenforcing status "{job.status}": {reason}'
        job, next_status = self._enter_job_status(conn, changes, job, job.status, activity, now)
        if next_status is not None:
            self.apply_job_status(conn, changes, job, next_status, reason, now)

    def _enter_job_status(
        self,
        conn: Connection,
        changes: Changes,
        job: Job,
        new_status: JobStatus,
        activity: str,
        now: dt.datetime,
    ) -> tuple[Job, JobStatus | None]:
        old_status = job.status
        logger.info(
            "job status changed",
            extra={"job": job.uuid, "from": old_status, "to": new_status, "activity": activity},
        )
        jobs.save_job_status(conn, job.id, new_status, activity, now)
        self.outbox.job_status_changed(conn, job, new_status, now, detail=activity)
        effect = transitions.effect_of_job_status(new_status, old_status)
        if effect.task_update is not None:
            update = effect.task_update
            jobs.update_job_tasks(
                conn,
                job.id,
                update.to_status,
                update.activity,
                now,
                only_statuses=update.from_statuses,
            )
            jobs.recompute_job_steps(conn, job.id)
        counts = jobs.count_tasks_by_status(conn, job.id)
        next_status = transitions.next_job_status(new_status, effect, counts)
        job = jobs.fetch_job_by_id(conn, job.id)
        changes.event(
            events.job_updated(job, previous_status=old_status, refresh_tasks=effect.refresh_tasks)
        )
        self._tell_dependents(conn, changes, job, now)
        return job, next_status

    def _tell_dependents(
        self, conn: Connection, changes: Changes, job: Job, now: dt.datetime
    ) -> None:
        """After `job` entered a status: the jobs depending on it wait or not, and say so.

        A dependent waits while any of its dependencies is not completed; its tasks
        then stay out of the scheduler's index (tasks.job_waiting), and the scheduler's
        own dependency check holds them back regardless. Locks go from a job to its
        dependents, never back (jobs only depend on older jobs), and within a
        dependent from its tasks to its row, as everywhere.
        """
        if job.status not in job_graph_rules.STATUSES_DEPENDENTS_HEAR_OF:
            return
        changed = job_graph_rules.JobRef(id=job.id, uuid=job.uuid, name=job.name, status=job.status)
        released = False
        for dependent in job_dependencies.fetch_dependents(conn, job.id):
            if dependent.being_deleted:
                continue
            job_dependencies.lock_dependencies_of_job(conn, dependent.id)
            dependencies = job_dependencies.fetch_dependencies(conn, dependent.id)
            waiting = bool(job_graph_rules.unfinished(dependencies))
            job_dependencies.set_job_waiting(conn, dependent.id, waiting)
            if dependent.status not in job_graph_rules.DEPENDENTS_TOLD_OF_CHANGES:
                continue
            activity = job_graph_rules.activity_after_dependency_change(changed, dependencies)
            if activity is None:
                continue
            job_dependencies.save_job_activity(conn, dependent.id, activity, now)
            told = jobs.fetch_job_by_id(conn, dependent.id)
            changes.event(events.job_updated(told))
            if not waiting:
                self.outbox.job_may_run(conn, told, now)
            released = released or not waiting
            logger.info(
                "dependent job told of dependency",
                extra={"job": dependent.uuid, "activity": activity},
            )
        if released:
            changes.event(events.work_available())

    def apply_requeue_worker_tasks(
        self,
        conn: Connection,
        changes: Changes,
        worker: Worker,
        reason: str,
        now: dt.datetime,
        *,
        from_status: TaskStatus = TaskStatus.ACTIVE,
        job_id: int | None = None,
    ) -> None:
        """Give a Worker's tasks back to the queue (or pause them when their job is pausing).

        `reason` completes the sentence "Task was requeued by Manager because ...".
        """
        for task in jobs.fetch_tasks_of_worker(conn, worker.id, from_status, job_id=job_id):
            job_status = jobs.fetch_job_by_id(conn, task.job_id).status
            target = transitions.requeue_status_for_job(job_status)
            verb = "requeued" if target == TaskStatus.QUEUED else "paused"
            activity = f"Task was {verb} by Manager because {reason}"
            jobs.save_task_activity(conn, task.id, activity, now)
            self.apply_task_status(conn, changes, task, target, now)
            changes.log(task.job_uuid, task.uuid, activity)
            logger.info(
                "task given back by worker",
                extra={"task": task.uuid, "worker": worker.uuid, "to": target, "reason": reason},
            )
