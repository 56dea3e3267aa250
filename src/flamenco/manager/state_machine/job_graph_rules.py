"""Pure rules of job dependencies and approval tasks: who waits, and what that says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus

# The task type that people do, never Workers (DESIGN.md); the scheduler skips it.
APPROVAL_TASK_TYPE = "approval"

# A dependency in one of these statuses will not complete without someone acting.
STOPPED_DEPENDENCY_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELED, JobStatus.PAUSED})

# A job entering one of these statuses changes what its dependents wait for.
STATUSES_DEPENDENTS_HEAR_OF = frozenset(
    {JobStatus.COMPLETED, JobStatus.QUEUED, *STOPPED_DEPENDENCY_STATUSES}
)

# Jobs whose activity follows their dependencies; others say something of their own.
DEPENDENTS_TOLD_OF_CHANGES = frozenset({JobStatus.QUEUED, JobStatus.ACTIVE})

# Job statuses in which an approval task may be decided on.
APPROVABLE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.ACTIVE})


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRef:
    """Another job in a dependency: enough to name it and to know where it stands."""

    id: int
    uuid: str
    name: str
    status: JobStatus
    being_deleted: bool = False


def unfinished(dependencies: Sequence[JobRef]) -> list[JobRef]:
    """The dependencies that keep a job waiting: every one not completed."""
    return [job for job in dependencies if job.status != JobStatus.COMPLETED]


def waiting_message(dependency: JobRef) -> str:
    """Why a job waits for this (unfinished) dependency, as a lower-case phrase.

    The scheduling explainer reports it as is ("waiting for dependency <name>").
    """
    if dependency.status == JobStatus.PAUSED:
        return f'waiting for dependency "{dependency.name}", which is paused'
    if dependency.status in STOPPED_DEPENDENCY_STATUSES:
        return (
            f'waiting for dependency "{dependency.name}", which is {dependency.status}; '
            "requeue it to continue"
        )
    return f'waiting for dependency "{dependency.name}" ({dependency.status})'


def waiting_reason(dependencies: Sequence[JobRef]) -> str:
    """One sentence for the job's activity and the web interface; "" when not waiting."""
    waiting_for = unfinished(dependencies)
    if not waiting_for:
        return ""
    text = "; ".join(waiting_message(dependency) for dependency in waiting_for)
    return text[0].upper() + text[1:]


def activity_after_dependency_change(changed: JobRef, dependencies: Sequence[JobRef]) -> str | None:
    """A dependent's new activity after one of its dependencies, `changed`, got a new status.

    `dependencies` are all of the dependent's dependencies as they are now. None
    leaves the activity alone: nothing the dependent's owner needs to hear.
    """
    if changed.status == JobStatus.COMPLETED:
        if unfinished(dependencies):
            return waiting_reason(dependencies)
        return f'All dependencies completed (last: "{changed.name}"); the job can run'
    if changed.status in STOPPED_DEPENDENCY_STATUSES or changed.status == JobStatus.QUEUED:
        return waiting_reason(dependencies) or None
    return None


def approval_problem(
    task_type: str,
    task_status: TaskStatus,
    job_status: JobStatus,
    unfinished_task_dependencies: int,
    unfinished_job_dependencies: Sequence[JobRef],
) -> str | None:
    """Why this task cannot be approved or rejected now, or None when it can."""
    if task_type != APPROVAL_TASK_TYPE:
        return f'only tasks of type "{APPROVAL_TASK_TYPE}" are approved, not "{task_type}"'
    if task_status != TaskStatus.QUEUED:
        return f'the approval is not pending: the task is "{task_status}"'
    if job_status not in APPROVABLE_JOB_STATUSES:
        return f'the job is "{job_status}"; approvals are decided in queued or active jobs'
    if unfinished_job_dependencies:
        return f"the job is {waiting_message(unfinished_job_dependencies[0])}"
    if unfinished_task_dependencies:
        return (
            f"{unfinished_task_dependencies} task(s) this approval depends on have not "
            "completed yet"
        )
    return None


def awaiting_approval_message(task_name: str) -> str:
    """The explainer's phrase for a pending approval task."""
    return f'awaiting approval of "{task_name}"'
