"""Handing tasks to Workers: scheduling, and whether a Worker may keep running its task."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flamenco.api.enums import TaskStatus, WorkerStatus
from flamenco.clock import Clock
from flamenco.manager import scheduling_rules as rules
from flamenco.manager.eventbus import events
from flamenco.manager.metrics.recorder import NO_METRICS, Recorder
from flamenco.manager.persistence import (
    Database,
    errors,
    explainer,
    jobs,
    resource_limits,
    scheduler,
    workers,
)
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job, Task, TaskRef, Worker
from flamenco.manager.services import approvals
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


@dataclass(slots=True)
class _CapacityTaken:
    """The task found was taken by a capacity another Worker filled meanwhile: look again."""

    full_jobs: set[int]
    exhausted_limits: set[str]


# How often one request looks again after losing a capacity race (PostgreSQL only:
# with SQLite's one writer the first look is always right).
CAPACITY_ATTEMPTS = 5


def load_snapshot(
    conn: Connection,
    job_uuid: str,
    capacities: Mapping[str, int],
    *,
    worker_uuid: str | None = None,
) -> tuple[rules.JobSnapshot, rules.WorkerView | None]:
    """What the explainer's rules look at, in one transaction, with the job's approvals
    that await a person as the approval service judges them."""
    snapshot, worker = explainer.load_snapshot(conn, job_uuid, capacities, worker_uuid=worker_uuid)
    pending = approvals.fetch_pending_approvals(conn, snapshot.job_id)
    named = tuple(approval.task.name for approval in pending)
    return dataclasses.replace(snapshot, pending_approvals=named), worker


def pick_task(
    conn: Connection,
    worker: Worker,
    capacities: Mapping[str, int],
    known: _CapacityTaken | None = None,
    capped_jobs: Iterable[tuple[int, int, int]] | None = None,
) -> TaskRef | _CapacityTaken | None:
    """The next task for an awake Worker without one, within every job's and limit's capacity.

    `known` carries what an earlier attempt found full; `capped_jobs`, what
    resource_limits.fetch_capped_runnable_jobs() answers, when already fetched.
    _CapacityTaken: another Worker took the last place meanwhile; the caller ends the
    transaction and asks again.
    """
    if capped_jobs is None:
        capped_jobs = resource_limits.fetch_capped_runnable_jobs(conn)
    full_jobs = _full_jobs(capped_jobs) | (known.full_jobs if known else set())
    exhausted = set(known.exhausted_limits) if known else set()
    if capacities:
        exhausted |= rules.exhausted_limits(capacities, resource_limits.fetch_usage(conn))
    held_back = set(full_jobs)
    if exhausted:
        held_back |= {
            job_id
            for job_id, limits in resource_limits.fetch_limited_runnable_jobs(
                conn, exhausted
            ).items()
            if rules.held_back_by_limits(limits, exhausted)
        }
    ceiling = scheduler.HIGHEST_PRIORITY
    if held_back:
        # Start below a band of jobs that are all held back, instead of walking past
        # every one of their queued tasks.
        found_ceiling = scheduler.fetch_priority_ceiling(conn, held_back)
        if found_ceiling is None:
            return None
        ceiling = found_ceiling
    candidate = scheduler.find_candidate(
        conn,
        worker,
        full_jobs=held_back,
        exhausted_limits=exhausted,
        priority_ceiling=ceiling,
    )
    if candidate is None:
        return None
    taken = _capacity_taken(conn, candidate, capacities)
    if taken is not None:
        taken.full_jobs |= full_jobs
        taken.exhausted_limits |= exhausted
        return taken
    return candidate.task


def _full_jobs(capped_jobs: Iterable[tuple[int, int, int]]) -> set[int]:
    return {
        job_id
        for job_id, max_workers, active in capped_jobs
        if rules.at_max_workers(max_workers, active)
    }


def _capacity_taken(
    conn: Connection, candidate: scheduler.Candidate, capacities: Mapping[str, int]
) -> _CapacityTaken | None:
    """Check the candidate's capacity again, now under lock; None if it may start.

    What find_candidate() excluded was counted without locks: two Workers asking at
    once through two PostgreSQL connections could both see the last free unit. So
    lock the job, then the limits (the documented order: Worker, task, job, limit) and
    count again; committed assignments are seen by these fresh statements. A task of
    a job without max_workers and limits costs nothing more.
    """
    task = candidate.task
    taken = (
        resource_limits.fetch_task_type_limits(conn, task.job_id, task.task_type)
        if capacities
        else []
    )
    limited = [name for name in taken if name in capacities]
    if candidate.max_workers is None and not limited:
        return None
    jobs.fetch_job_for_update(conn, task.job_id)
    if rules.at_max_workers(
        candidate.max_workers, resource_limits.count_active_tasks_of_job(conn, task.job_id)
    ):
        return _CapacityTaken({task.job_id}, set())
    if limited:
        resource_limits.lock_limits(conn, limited)
        in_the_way = rules.limits_in_the_way(limited, capacities, resource_limits.fetch_usage(conn))
        if in_the_way:
            return _CapacityTaken(set(), set(in_the_way))
    return None


class TaskScheduler:
    def __init__(
        self,
        *,
        db: Database,
        state_machine: StateMachine,
        clock: Clock,
        limit_capacities: Mapping[str, int] | None = None,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._db = db
        self._state_machine = state_machine
        self._clock = clock
        self.limit_capacities: Mapping[str, int] = dict(limit_capacities or {})
        self._metrics = metrics

    async def schedule(self, worker_uuid: str) -> ScheduleResult:
        """Find the Worker a task and make it active, all in one transaction."""
        found: ScheduleResult | _CapacityTaken = _CapacityTaken(set(), set())
        changes = Changes()
        for _ in range(CAPACITY_ATTEMPTS):
            assert isinstance(found, _CapacityTaken)
            found, changes = await self._db.write(
                self._schedule_transaction(worker_uuid, found), urgent=True, retry=True
            )
            if not isinstance(found, _CapacityTaken):
                break
        result = NoTask() if isinstance(found, _CapacityTaken) else found
        self._state_machine.publish(changes)
        if isinstance(result, Assigned):
            self._metrics.task_assigned(result.task.task_type)
            logger.info(
                "task assigned to worker",
                extra={"task": result.task.uuid, "worker": worker_uuid},
            )
        return result

    def _schedule_transaction(
        self, worker_uuid: str, known: _CapacityTaken
    ) -> Callable[[Connection], tuple[ScheduleResult | _CapacityTaken, Changes]]:
        now = self._clock.now()
        capacities = self.limit_capacities

        def transaction(conn: Connection) -> tuple[ScheduleResult | _CapacityTaken, Changes]:
            # Made here, so that a transaction run again (see Database.write) starts afresh.
            changes = Changes()
            # Asking for work counts as being seen, whatever the answer.
            start = scheduler.start_scheduling(conn, worker_uuid, now)
            worker = start.worker
            if worker.status_requested is not None:
                return StatusChangeRequired(worker.status_requested), changes
            if worker.status != WorkerStatus.AWAKE:
                return NotAwake(worker.status), changes

            task = start.assigned
            if task is None:
                picked = pick_task(conn, worker, capacities, known, start.capped_jobs)
                if picked is None:
                    return NoTask(), changes
                if isinstance(picked, _CapacityTaken):
                    return picked, changes
                task = picked

            changes.log(
                task.job_uuid, task.uuid, f"Task assigned to worker {worker.name} ({worker.uuid})"
            )
            applied = self._state_machine.apply_task_status(
                conn, changes, task, TaskStatus.ACTIVE, now, assign_to=worker.id
            )
            changes.event(events.worker_updated(worker))
            return Assigned(task=applied.task, job=applied.job, worker=worker), changes

        return transaction

    async def explain(self, job_uuid: str, worker_uuid: str | None = None) -> list[rules.Reason]:
        """Why the job's next task is not running, by the scheduler's own rules.

        Raises JobNotFound, or WorkerNotFound for an unknown `worker_uuid`.
        """
        capacities = self.limit_capacities
        snapshot, worker = await self._db.read(
            lambda conn: load_snapshot(conn, job_uuid, capacities, worker_uuid=worker_uuid)
        )
        return rules.explain(snapshot, worker)

    async def limit_usage(self) -> dict[str, tuple[int, int]]:
        """Each configured limit's (units in use, capacity), by name."""
        usage = await self._db.read(resource_limits.fetch_usage)
        return {
            name: (usage.get(name, 0), capacity)
            for name, capacity in sorted(self.limit_capacities.items())
        }

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
