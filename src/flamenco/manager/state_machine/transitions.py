"""Pure status-transition rules for tasks and jobs, without any I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus

# A job fails when at least this percentage of its tasks failed.
TASK_FAIL_JOB_PERCENTAGE = 10

TaskCounts = Mapping[TaskStatus, int]

# Task statuses that mean "this task may still run".
RUNNABLE_TASK_STATUSES = (TaskStatus.ACTIVE, TaskStatus.QUEUED, TaskStatus.SOFT_FAILED)


@dataclass(frozen=True, slots=True)
class JobChange:
    """A job should move to `status`, for `reason`."""

    status: JobStatus
    reason: str


@dataclass(frozen=True, slots=True)
class TaskMassUpdate:
    """Give the job's tasks in `from_statuses` (all tasks when None) the status `to_status`."""

    from_statuses: tuple[TaskStatus, ...] | None
    to_status: TaskStatus
    activity: str


@dataclass(frozen=True, slots=True)
class JobStatusEffect:
    """What entering a job status does to the job's tasks, and where the job goes next."""

    task_update: TaskMassUpdate | None
    # Decided after the task update, from the task counts; see next_job_status().
    follow_up: JobStatus | None
    # Clients should re-fetch all tasks of the job instead of expecting per-task events.
    refresh_tasks: bool = True


def _total(counts: TaskCounts) -> int:
    return sum(counts.values())


def _count(counts: TaskCounts, *statuses: TaskStatus) -> int:
    return sum(counts.get(status, 0) for status in statuses)


def _pausing_complete(job_status: JobStatus, counts: TaskCounts) -> bool:
    return job_status == JobStatus.PAUSE_REQUESTED and _count(counts, TaskStatus.ACTIVE) == 0


def _after_queued(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
    if job_status == JobStatus.COMPLETED:
        return JobChange(JobStatus.REQUEUEING, "task was queued")
    return None


def _after_paused(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
    if _pausing_complete(job_status, counts):
        return JobChange(JobStatus.PAUSED, "no more active tasks after task was paused")
    return None


def _after_canceled(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
    if _count(counts, *RUNNABLE_TASK_STATUSES) == 0:
        return JobChange(
            JobStatus.CANCELED, "canceled task was last runnable task of job, canceling job"
        )
    if _pausing_complete(job_status, counts):
        return JobChange(JobStatus.PAUSED, "no more active tasks after task cancellation")
    return None


def _after_failed(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
    total = _total(counts)
    failed_percentage = int(_count(counts, TaskStatus.FAILED) / total * 100) if total else 0
    if failed_percentage >= TASK_FAIL_JOB_PERCENTAGE:
        return JobChange(JobStatus.FAILED, "too many tasks failed")
    if _pausing_complete(job_status, counts):
        return JobChange(JobStatus.PAUSED, "no more active tasks after task failure")
    if job_status == JobStatus.QUEUED:
        return JobChange(JobStatus.ACTIVE, "task failed, but not enough to fail the job")
    return None


def _after_running(task_status: TaskStatus) -> Rule:
    """Rule for a task that became active or soft-failed: the job is being worked on."""

    def rule(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
        if job_status in (JobStatus.ACTIVE, JobStatus.CANCEL_REQUESTED):
            return None
        if job_status in (JobStatus.PAUSE_REQUESTED, JobStatus.PAUSED):
            # Upstream flips a pausing job back to active here, which loses the pause.
            if _pausing_complete(job_status, counts):
                reason = f"no more active tasks after task became {task_status}"
                return JobChange(JobStatus.PAUSED, reason)
            return None
        return JobChange(JobStatus.ACTIVE, f"task became {task_status}")

    return rule


def _after_completed(job_status: JobStatus, counts: TaskCounts) -> JobChange | None:
    if _count(counts, TaskStatus.COMPLETED) == _total(counts):
        return JobChange(JobStatus.COMPLETED, "all tasks completed")
    if _pausing_complete(job_status, counts):
        return JobChange(JobStatus.PAUSED, "no more active tasks after task completion")
    if job_status == JobStatus.QUEUED:
        return JobChange(JobStatus.ACTIVE, "no more tasks to do")
    return None


Rule = Callable[[JobStatus, TaskCounts], JobChange | None]

_RULES_BY_TASK_STATUS: Mapping[TaskStatus, Rule] = {
    TaskStatus.QUEUED: _after_queued,
    TaskStatus.PAUSED: _after_paused,
    TaskStatus.CANCELED: _after_canceled,
    TaskStatus.FAILED: _after_failed,
    TaskStatus.ACTIVE: _after_running(TaskStatus.ACTIVE),
    TaskStatus.SOFT_FAILED: _after_running(TaskStatus.SOFT_FAILED),
    TaskStatus.COMPLETED: _after_completed,
}


def job_change_after_task_change(
    job_status: JobStatus, task_status: TaskStatus, counts: TaskCounts
) -> JobChange | None:
    """How a task's new status ripples to its job.

    `counts` are the job's task counts per status after the task got `task_status`.
    """
    rule = _RULES_BY_TASK_STATUS.get(task_status)
    return None if rule is None else rule(job_status, counts)


def effect_of_job_status(new_status: JobStatus, old_status: JobStatus) -> JobStatusEffect:
    """What happens to a job's tasks when the job enters `new_status` from `old_status`."""
    if new_status in (JobStatus.CANCEL_REQUESTED, JobStatus.FAILED):
        # Unlike upstream, paused tasks are cancelled too: a cancelled job should
        # not keep tasks that look like they are waiting to resume.
        return JobStatusEffect(
            TaskMassUpdate(
                (*RUNNABLE_TASK_STATUSES, TaskStatus.PAUSED),
                TaskStatus.CANCELED,
                f'Manager cancelled this task because the job got status "{new_status}".',
            ),
            JobStatus.CANCELED if new_status == JobStatus.CANCEL_REQUESTED else None,
        )

    if new_status == JobStatus.PAUSE_REQUESTED:
        return JobStatusEffect(
            TaskMassUpdate(
                (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED),
                TaskStatus.PAUSED,
                f'Manager paused this task because the job got status "{new_status}".',
            ),
            JobStatus.PAUSED,  # Only once no task is active any more.
        )

    if new_status == JobStatus.REQUEUEING:
        if old_status == JobStatus.UNDER_CONSTRUCTION:
            return JobStatusEffect(None, JobStatus.QUEUED)
        activity = f'Queued because job transitioned status from "{old_status}" to "{new_status}"'
        if old_status == JobStatus.COMPLETED:
            return JobStatusEffect(
                TaskMassUpdate(None, TaskStatus.QUEUED, activity), JobStatus.QUEUED
            )
        return JobStatusEffect(
            TaskMassUpdate(
                (TaskStatus.CANCELED, TaskStatus.FAILED, TaskStatus.PAUSED, TaskStatus.SOFT_FAILED),
                TaskStatus.QUEUED,
                activity,
            ),
            JobStatus.QUEUED,
        )

    if new_status == JobStatus.QUEUED:
        return JobStatusEffect(None, JobStatus.COMPLETED)  # Only when every task is completed.

    return JobStatusEffect(None, None, refresh_tasks=False)


def next_job_status(
    current: JobStatus, effect: JobStatusEffect, counts: TaskCounts
) -> JobStatus | None:
    """The status a job moves on to after its tasks were updated, or None to stay."""
    follow_up = effect.follow_up
    if follow_up is None:
        return None
    if current == JobStatus.PAUSE_REQUESTED and follow_up == JobStatus.PAUSED:
        return follow_up if _count(counts, TaskStatus.ACTIVE) == 0 else None
    if current == JobStatus.QUEUED and follow_up == JobStatus.COMPLETED:
        return follow_up if _count(counts, TaskStatus.COMPLETED) == _total(counts) else None
    return follow_up


def requeue_status_for_job(job_status: JobStatus) -> TaskStatus:
    """Where a task goes when its Worker gives it back: paused when its job is pausing."""
    if job_status in (JobStatus.PAUSE_REQUESTED, JobStatus.PAUSED):
        return TaskStatus.PAUSED
    return TaskStatus.QUEUED


# Jobs in these statuses are re-enforced at start-up, in case the Manager stopped
# halfway through the task updates they cause.
STUCK_JOB_STATUSES = (
    JobStatus.CANCEL_REQUESTED,
    JobStatus.REQUEUEING,
    JobStatus.PAUSE_REQUESTED,
)


# Job statuses a user may ask for, and the statuses they may be asked from. The
# spec answers other requests with 422; upstream accepts anything, which lets a
# client mark a job completed that never ran.
REQUESTABLE_JOB_STATUSES: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.CANCEL_REQUESTED: frozenset(
        {
            JobStatus.ACTIVE,
            JobStatus.FAILED,
            JobStatus.PAUSED,
            JobStatus.PAUSE_REQUESTED,
            JobStatus.QUEUED,
            JobStatus.UNDER_CONSTRUCTION,
        }
    ),
    JobStatus.PAUSE_REQUESTED: frozenset({JobStatus.ACTIVE, JobStatus.QUEUED, JobStatus.CANCELED}),
    JobStatus.REQUEUEING: frozenset(
        {JobStatus.CANCELED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PAUSED}
    ),
}

# The same for tasks: cancelling one, or queueing it (again).
REQUESTABLE_TASK_STATUSES: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.CANCELED: frozenset(
        {TaskStatus.ACTIVE, TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED}
    ),
    TaskStatus.QUEUED: frozenset(
        {
            TaskStatus.CANCELED,
            TaskStatus.COMPLETED,
            TaskStatus.FAILED,
            TaskStatus.SOFT_FAILED,
            TaskStatus.PAUSED,
        }
    ),
}


def job_status_request_problem(current: JobStatus, requested: JobStatus) -> str | None:
    """Why a user may not move a job from `current` to `requested`, or None when allowed."""
    allowed_from = REQUESTABLE_JOB_STATUSES.get(requested)
    if allowed_from is None:
        options = ", ".join(REQUESTABLE_JOB_STATUSES)
        return f'status "{requested}" cannot be requested for a job; ask for one of {options}'
    if current not in allowed_from:
        return f'a job in status "{current}" cannot go to "{requested}"'
    return None


def task_status_request_problem(current: TaskStatus, requested: TaskStatus) -> str | None:
    """Why a user may not move a task from `current` to `requested`, or None when allowed."""
    allowed_from = REQUESTABLE_TASK_STATUSES.get(requested)
    if allowed_from is None:
        options = ", ".join(REQUESTABLE_TASK_STATUSES)
        return f'status "{requested}" cannot be requested for a task; ask for one of {options}'
    if current not in allowed_from:
        return f'a task in status "{current}" cannot go to "{requested}"'
    return None
