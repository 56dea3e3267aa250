"""Which tasks a re-render of missing frames requeues: pure rules over a scan of the output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus

# Job statuses in which missing frames may be rendered again. A job on its way to
# another status (pausing, cancelling, requeueing) must get there first.
RERENDERABLE_JOB_STATUSES = frozenset(
    {JobStatus.ACTIVE, JobStatus.QUEUED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED}
)
# Tasks that are done, one way or another: only these are requeued. The others
# will run anyway (queued, soft-failed) or are running (active).
FINISHED_TASK_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED})
# Job statuses that requeueing tasks moves on to `queued`, so that they are scheduled.
JOB_STATUSES_TO_QUEUE = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})


@dataclass(frozen=True, slots=True)
class RerenderPlan:
    """Tasks to requeue: those whose own frames are missing or broken, then their dependents."""

    frame_tasks: tuple[int, ...]
    dependent_tasks: tuple[int, ...]

    @property
    def all_tasks(self) -> tuple[int, ...]:
        return self.frame_tasks + self.dependent_tasks


def job_status_problem(status: JobStatus) -> str | None:
    """Why a job in this status cannot re-render missing frames, or None."""
    if status in RERENDERABLE_JOB_STATUSES:
        return None
    return (
        f'a job in status "{status}" cannot re-render frames; wait until it is no longer "{status}"'
    )


def plan(
    statuses: Mapping[int, TaskStatus],
    tasks_with_bad_frames: Iterable[int],
    dependencies: Iterable[tuple[int, int]],
) -> RerenderPlan:
    """The finished tasks with bad frames, and the finished tasks that (indirectly) depend on
    them, each in task-ID order. `dependencies` are (task, the task it depends on) pairs."""
    frame_tasks = sorted(
        task for task in set(tasks_with_bad_frames) if statuses.get(task) in FINISHED_TASK_STATUSES
    )
    dependents: dict[int, list[int]] = {}
    for task, dependency in dependencies:
        dependents.setdefault(dependency, []).append(task)
    seen = set(frame_tasks)
    to_visit = list(frame_tasks)
    found: set[int] = set()
    while to_visit:
        for dependent in dependents.get(to_visit.pop(), ()):
            if dependent in seen:
                continue
            seen.add(dependent)
            to_visit.append(dependent)
            if statuses.get(dependent) in FINISHED_TASK_STATUSES:
                found.add(dependent)
    return RerenderPlan(tuple(frame_tasks), tuple(sorted(found)))


def frame_state(file_state: str, task_status: TaskStatus) -> str:
    """A frame as the web interface shows it: what is on disk, unless its task is at it.

    `rendering` while its task runs and the file is not whole yet; `waiting` while the
    task has yet to run; else the file's own state (rendered, missing, broken).
    """
    if file_state == "rendered":
        return "rendered"
    if task_status == TaskStatus.ACTIVE:
        return "rendering"
    if task_status in (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED):
        return "waiting"
    return file_state
