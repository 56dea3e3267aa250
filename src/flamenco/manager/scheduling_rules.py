"""The scheduler's rules as pure functions: the scheduler obeys them, the explainer quotes them.

Each rule looks at a snapshot of the farm loaded once (plain dataclasses, no I/O)
and answers with the reasons it stops a job's next task from running, if any.
The capacity rules (max_workers, resource limits) are the very functions the
scheduler decides with (services/scheduling.py); the per-Worker rules are the
same conditions find_runnable_task checks in SQL, where they must stay for speed
(tests/integration/test_explainer.py checks that both agree, Worker by Worker).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, WorkerStatus
from flamenco.manager.state_machine import job_graph_rules
from flamenco.manager.state_machine.job_graph_rules import JobRef

# Job statuses whose tasks the scheduler hands out.
RUNNABLE_JOB_STATUSES = frozenset({JobStatus.ACTIVE, JobStatus.QUEUED})
PAUSED_JOB_STATUSES = frozenset({JobStatus.PAUSED, JobStatus.PAUSE_REQUESTED})


class ReasonCode(enum.StrEnum):
    """Stable codes of the explainer's reasons; clients may rely on them."""

    JOB_PAUSED = "job_paused"
    JOB_NOT_QUEUED = "job_not_queued"
    JOB_DELETION_REQUESTED = "job_deletion_requested"
    NO_TASK_READY = "no_task_ready"
    MAX_WORKERS_REACHED = "max_workers_reached"
    LIMIT_EXHAUSTED = "limit_exhausted"
    NO_WORKER_WITH_TAG = "no_worker_with_tag"
    WORKER_INCAPABLE = "worker_incapable"
    WORKERS_UNAVAILABLE = "workers_unavailable"
    WORKER_BLOCKLISTED = "worker_blocklisted"
    WORKER_FAILED_TASK = "worker_failed_task"
    WAITING_FOR_DEPENDENCY = "waiting_for_dependency"
    AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str


# ------------------------------------------------------------------ capacity


def at_max_workers(max_workers: int | None, active_tasks: int) -> bool:
    """Whether a job with this cap may start no further task."""
    return max_workers is not None and active_tasks >= max_workers


def exhausted_limits(capacities: Mapping[str, int], usage: Mapping[str, int]) -> frozenset[str]:
    """The configured limits with no unit left. A name not configured is no limit."""
    return frozenset(
        name for name, capacity in capacities.items() if usage.get(name, 0) >= capacity
    )


def limits_in_the_way(
    taken: Iterable[str], capacities: Mapping[str, int], usage: Mapping[str, int]
) -> list[str]:
    """Of the limits a task would take, those exhausted; sorted, as the scheduler locks them."""
    exhausted = exhausted_limits(capacities, usage)
    return sorted(name for name in set(taken) if name in exhausted)


def held_back_by_limits(
    limits_by_task_type: Mapping[str, Iterable[str]], exhausted: Iterable[str]
) -> bool:
    """Whether every task type of a job takes an exhausted limit ('' means it takes none)."""
    exhausted = set(exhausted)
    return bool(limits_by_task_type) and all(
        exhausted.intersection(names) for names in limits_by_task_type.values()
    )


# ---------------------------------------------------------------- snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerView:
    """A Worker as the rules see it."""

    id: int
    uuid: str
    name: str
    platform: str
    status: WorkerStatus
    status_requested: WorkerStatus | None
    supported_task_types: frozenset[str]
    tag_ids: frozenset[int]
    # The job of the task it is running, if any.
    busy_with_job_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReadyTask:
    """A queued or soft-failed task whose dependencies completed: one the scheduler may pick."""

    id: int
    task_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSnapshot:
    """What the rules need about one job and the farm around it, loaded in one transaction."""

    job_id: int
    status: JobStatus
    deletion_requested: bool
    max_workers: int | None
    worker_tag_id: int | None
    worker_tag_name: str
    active_tasks: int
    # In the scheduler's order; at most a few thousand (the explainer's loading caps it).
    ready_tasks: tuple[ReadyTask, ...]
    limits_by_task_type: Mapping[str, frozenset[str]]
    limit_capacities: Mapping[str, int]
    limit_usage: Mapping[str, int]
    # (worker ID, task type) pairs blocklisted for this job.
    blocklisted: frozenset[tuple[int, str]]
    # (worker ID, task ID) pairs: the Worker failed that task of this job before.
    failed: frozenset[tuple[int, int]]
    workers: tuple[WorkerView, ...]
    # Job graph (state_machine/job_graph_rules.py): the jobs this one waits for, and
    # the names of its approval tasks that await a person's decision now.
    unfinished_dependencies: tuple[JobRef, ...] = ()
    pending_approvals: tuple[str, ...] = ()

    @property
    def ready_task_types(self) -> frozenset[str]:
        return frozenset(task.task_type for task in self.ready_tasks)


# ---------------------------------------------------------------- job rules

JobRule = Callable[[JobSnapshot], list[Reason]]


def job_status_rule(job: JobSnapshot) -> list[Reason]:
    if job.deletion_requested:
        return [Reason(ReasonCode.JOB_DELETION_REQUESTED, "the job is being deleted")]
    if job.status in PAUSED_JOB_STATUSES:
        return [Reason(ReasonCode.JOB_PAUSED, f"the job is {job.status}")]
    if job.status not in RUNNABLE_JOB_STATUSES:
        return [
            Reason(
                ReasonCode.JOB_NOT_QUEUED,
                f"the job is {job.status}; only queued and active jobs get Workers",
            )
        ]
    return []


def dependency_rule(job: JobSnapshot) -> list[Reason]:
    """The scheduler's "a job with unfinished dependencies is never scheduled", in words."""
    return [
        Reason(ReasonCode.WAITING_FOR_DEPENDENCY, job_graph_rules.waiting_message(dependency))
        for dependency in job_graph_rules.unfinished(job.unfinished_dependencies)
    ]


def approval_rule(job: JobSnapshot) -> list[Reason]:
    """Approval tasks are never handed to a Worker: with nothing else ready, they hold the job."""
    if job.ready_tasks:
        return []
    return [
        Reason(ReasonCode.AWAITING_APPROVAL, job_graph_rules.awaiting_approval_message(name))
        for name in job.pending_approvals
    ]


def ready_task_rule(job: JobSnapshot) -> list[Reason]:
    if job.ready_tasks or job.pending_approvals:
        return []
    if job.active_tasks:
        message = (
            f"{_count(job.active_tasks, 'task')} running; no other task is queued "
            "with its dependencies done"
        )
    else:
        message = "no task is queued with its dependencies done"
    return [Reason(ReasonCode.NO_TASK_READY, message)]


def max_workers_rule(job: JobSnapshot) -> list[Reason]:
    if not at_max_workers(job.max_workers, job.active_tasks):
        return []
    return [
        Reason(
            ReasonCode.MAX_WORKERS_REACHED,
            f"max_workers reached: {job.active_tasks} of at most {job.max_workers} "
            "tasks are running",
        )
    ]


def limits_rule(job: JobSnapshot) -> list[Reason]:
    """Reasons for limits that hold back every ready task type (one exhausted limit each)."""
    blocking: dict[str, None] = {}
    for task_type in sorted(job.ready_task_types):
        in_the_way = limits_in_the_way(
            job.limits_by_task_type.get(task_type, ()), job.limit_capacities, job.limit_usage
        )
        if not in_the_way:
            return []  # Some ready task can run as far as limits go.
        blocking.update(dict.fromkeys(in_the_way))
    return [
        Reason(
            ReasonCode.LIMIT_EXHAUSTED,
            f"limit {name} exhausted: {job.limit_usage.get(name, 0)} of "
            f"{job.limit_capacities[name]} in use",
        )
        for name in blocking
    ]


JOB_RULES: tuple[JobRule, ...] = (
    job_status_rule,
    dependency_rule,
    approval_rule,
    ready_task_rule,
    max_workers_rule,
    limits_rule,
)


@dataclass(frozen=True, slots=True)
class UsableTasks:
    """The ready tasks that the capacity rules let start now, and their task types."""

    tasks: tuple[ReadyTask, ...]
    types: frozenset[str]


def usable_ready_tasks(job: JobSnapshot) -> UsableTasks:
    if at_max_workers(job.max_workers, job.active_tasks):
        return UsableTasks((), frozenset())
    exhausted = exhausted_limits(job.limit_capacities, job.limit_usage)
    held_back = {
        task_type for task_type, names in job.limits_by_task_type.items() if names & exhausted
    }
    tasks = tuple(task for task in job.ready_tasks if task.task_type not in held_back)
    return UsableTasks(tasks, frozenset(task.task_type for task in tasks))


# ------------------------------------------------------------- worker rules

WorkerRule = Callable[[JobSnapshot, WorkerView, "UsableTasks"], Reason | None]


def tag_rule(job: JobSnapshot, worker: WorkerView, _: UsableTasks) -> Reason | None:
    if job.worker_tag_id is None or job.worker_tag_id in worker.tag_ids:
        return None
    return Reason(
        ReasonCode.NO_WORKER_WITH_TAG,
        f"Worker {worker.name} does not have the job's tag {job.worker_tag_name}",
    )


def capability_rule(job: JobSnapshot, worker: WorkerView, usable: UsableTasks) -> Reason | None:
    needed = sorted(usable.types)
    if not needed or worker.supported_task_types.intersection(needed):
        return None
    supported = ", ".join(sorted(worker.supported_task_types)) or "none"
    return Reason(
        ReasonCode.WORKER_INCAPABLE,
        f"Worker {worker.name} ({worker.platform or 'unknown platform'}) runs task types "
        f"{supported}; the job's next tasks are {', '.join(needed)}",
    )


def blocklist_rule(job: JobSnapshot, worker: WorkerView, usable: UsableTasks) -> Reason | None:
    runnable_types = usable.types & worker.supported_task_types
    if not runnable_types or any(
        (worker.id, task_type) not in job.blocklisted for task_type in runnable_types
    ):
        return None
    return Reason(
        ReasonCode.WORKER_BLOCKLISTED,
        f"Worker {worker.name} is blocklisted for this job's task type "
        f"{', '.join(sorted(runnable_types))}",
    )


def failed_before_rule(job: JobSnapshot, worker: WorkerView, usable: UsableTasks) -> Reason | None:
    if not any(failer == worker.id for failer, _ in job.failed):
        return None
    candidates = [task for task in usable.tasks if _may_take(job, worker, task)]
    if not candidates or any((worker.id, task.id) not in job.failed for task in candidates):
        return None
    which = "this task" if len(candidates) == 1 else f"these {len(candidates)} tasks"
    return Reason(ReasonCode.WORKER_FAILED_TASK, f"Worker {worker.name} failed {which} before")


def availability_rule(job: JobSnapshot, worker: WorkerView, _: UsableTasks) -> Reason | None:
    if worker.status_requested is not None:
        return Reason(
            ReasonCode.WORKERS_UNAVAILABLE,
            f"Worker {worker.name} is asked to become {worker.status_requested}",
        )
    if worker.status != WorkerStatus.AWAKE:
        return Reason(ReasonCode.WORKERS_UNAVAILABLE, f"Worker {worker.name} is {worker.status}")
    if worker.busy_with_job_id is not None and worker.busy_with_job_id != job.job_id:
        return Reason(
            ReasonCode.WORKERS_UNAVAILABLE,
            f"Worker {worker.name} is busy with a task of another job",
        )
    return None


# In the order they narrow the farm down: a Worker stopped by an earlier rule is not
# asked about later ones.
WORKER_RULES: tuple[WorkerRule, ...] = (
    tag_rule,
    capability_rule,
    blocklist_rule,
    failed_before_rule,
    availability_rule,
)

_AGGREGATE_MESSAGES: Mapping[ReasonCode, Callable[[JobSnapshot], str]] = {
    ReasonCode.NO_WORKER_WITH_TAG: lambda job: f"no Worker with tag {job.worker_tag_name}",
    ReasonCode.WORKER_INCAPABLE: lambda job: (
        "no Worker runs task type " + ", ".join(sorted(job.ready_task_types))
    ),
    ReasonCode.WORKER_BLOCKLISTED: lambda job: (
        "every capable Worker is blocklisted for this job's task type"
    ),
    ReasonCode.WORKER_FAILED_TASK: lambda job: (
        "every capable Worker failed the job's next tasks before"
    ),
    ReasonCode.WORKERS_UNAVAILABLE: lambda job: (
        "every capable Worker is asleep, offline or busy with higher-priority jobs"
    ),
}


def _may_take(job: JobSnapshot, worker: WorkerView, task: ReadyTask) -> bool:
    return (
        task.task_type in worker.supported_task_types
        and (worker.id, task.task_type) not in job.blocklisted
    )


def worker_reason(
    job: JobSnapshot, worker: WorkerView, usable: UsableTasks | None = None
) -> Reason | None:
    """The first rule that stops this Worker from getting one of the job's tasks.

    `usable`: usable_ready_tasks(job), when the caller asks about many Workers.
    """
    if usable is None:
        usable = usable_ready_tasks(job)
    for rule in WORKER_RULES:
        reason = rule(job, worker, usable)
        if reason is not None:
            return reason
    return None


def explain(job: JobSnapshot, worker: WorkerView | None = None) -> list[Reason]:
    """Why the job's next task is not running (for one Worker, or for the whole farm).

    An empty list: nothing stops it; a Worker gets one of its tasks when it next asks.
    """
    # Nothing else matters until the job may run at all, nor while it waits for others.
    for first in JOB_RULES[:2]:
        reasons = first(job)
        if reasons:
            return reasons
    reasons = [reason for rule in JOB_RULES[2:] for reason in rule(job)]
    if reasons:
        return reasons
    if worker is not None:
        found = worker_reason(job, worker)
        return [] if found is None else [found]
    if not job.workers:
        return [Reason(ReasonCode.WORKERS_UNAVAILABLE, "no Worker is known to this Manager")]
    usable = usable_ready_tasks(job)
    stopped = [worker_reason(job, each, usable) for each in job.workers]
    if any(reason is None for reason in stopped):
        return []
    # Each Worker is stopped by some rule: name the furthest one every Worker reached.
    order = [
        ReasonCode.NO_WORKER_WITH_TAG,
        ReasonCode.WORKER_INCAPABLE,
        ReasonCode.WORKER_BLOCKLISTED,
        ReasonCode.WORKER_FAILED_TASK,
        ReasonCode.WORKERS_UNAVAILABLE,
    ]
    furthest = max(order.index(reason.code) for reason in stopped if reason is not None)
    code = order[furthest]
    return [Reason(code, _AGGREGATE_MESSAGES[code](job))]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
