"""Which tasks a re-render of missing frames requeues, and how a frame shows in the strip."""

from __future__ import annotations

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.state_machine import rerender

DONE = TaskStatus.COMPLETED


def test_only_finished_tasks_and_their_finished_dependents() -> None:
    statuses = {
        1: DONE,
        2: DONE,
        3: TaskStatus.FAILED,
        4: TaskStatus.QUEUED,
        5: DONE,  # the video: depends on 1-4
        6: DONE,  # depends on the video: an upload, say
        7: DONE,  # depends on 1 only
    }
    dependencies = [(5, 1), (5, 2), (5, 3), (5, 4), (6, 5), (7, 1)]
    plan = rerender.plan(statuses, [2, 3, 4], dependencies)
    # Task 4 will run anyway; task 7 does not use what is re-rendered.
    assert plan.frame_tasks == (2, 3)
    assert plan.dependent_tasks == (5, 6)
    assert plan.all_tasks == (2, 3, 5, 6)


def test_nothing_bad_nothing_requeued() -> None:
    plan = rerender.plan({1: DONE, 2: DONE}, [], [(2, 1)])
    assert plan.all_tasks == ()


def test_a_dependent_still_to_run_is_left_alone_but_followed() -> None:
    statuses = {1: DONE, 2: TaskStatus.QUEUED, 3: DONE}
    plan = rerender.plan(statuses, [1], [(2, 1), (3, 2)])
    assert plan.dependent_tasks == (3,)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (JobStatus.COMPLETED, True),
        (JobStatus.ACTIVE, True),
        (JobStatus.FAILED, True),
        (JobStatus.CANCELED, True),
        (JobStatus.QUEUED, True),
        (JobStatus.PAUSED, False),
        (JobStatus.PAUSE_REQUESTED, False),
        (JobStatus.CANCEL_REQUESTED, False),
        (JobStatus.REQUEUEING, False),
        (JobStatus.UNDER_CONSTRUCTION, False),
    ],
)
def test_job_statuses(status: JobStatus, allowed: bool) -> None:
    assert (rerender.job_status_problem(status) is None) == allowed


@pytest.mark.parametrize(
    ("file_state", "task_status", "shown"),
    [
        ("rendered", TaskStatus.ACTIVE, "rendered"),
        ("missing", TaskStatus.ACTIVE, "rendering"),
        ("broken", TaskStatus.ACTIVE, "rendering"),
        ("missing", TaskStatus.QUEUED, "waiting"),
        ("missing", TaskStatus.SOFT_FAILED, "waiting"),
        ("missing", TaskStatus.COMPLETED, "missing"),
        ("broken", TaskStatus.COMPLETED, "broken"),
        ("missing", TaskStatus.FAILED, "missing"),
    ],
)
def test_frame_state(file_state: str, task_status: TaskStatus, shown: str) -> None:
    assert rerender.frame_state(file_state, task_status) == shown
