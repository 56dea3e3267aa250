"""The pure task and job transition rules, case by case."""

from __future__ import annotations

import pytest

from flamenco.api.enums import JobStatus as J
from flamenco.api.enums import TaskStatus as T
from flamenco.manager.state_machine import transitions
from flamenco.manager.state_machine.transitions import JobChange


def counts(**by_status: int) -> dict[T, int]:
    return {T(name.replace("_", "-")): number for name, number in by_status.items()}


@pytest.mark.parametrize(
    ("job_status", "task_status", "task_counts", "expected"),
    [
        pytest.param(
            J.QUEUED,
            T.ACTIVE,
            counts(active=1, queued=2),
            J.ACTIVE,
            id="queued_to_active_makes_job_active",
        ),
        pytest.param(
            J.ACTIVE, T.ACTIVE, counts(active=2, queued=1), None, id="active_job_stays_active"
        ),
        pytest.param(
            J.CANCEL_REQUESTED,
            T.ACTIVE,
            counts(active=1),
            None,
            id="cancel_requested_not_reactivated",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.ACTIVE,
            counts(active=1, paused=2),
            None,
            id="pausing_job_keeps_pausing",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.SOFT_FAILED,
            counts(soft_failed=1, paused=2),
            J.PAUSED,
            id="soft_failure_completes_pausing",
        ),
        pytest.param(
            J.FAILED, T.ACTIVE, counts(active=1), J.ACTIVE, id="task_active_reactivates_failed_job"
        ),
        pytest.param(
            J.QUEUED,
            T.SOFT_FAILED,
            counts(soft_failed=1, queued=3),
            J.ACTIVE,
            id="soft_failed_makes_job_active",
        ),
        pytest.param(
            J.ACTIVE, T.COMPLETED, counts(completed=3), J.COMPLETED, id="last_task_completes_job"
        ),
        pytest.param(
            J.ACTIVE,
            T.COMPLETED,
            counts(completed=2, queued=1),
            None,
            id="completion_with_more_to_do",
        ),
        pytest.param(
            J.ACTIVE,
            T.COMPLETED,
            counts(completed=2, soft_failed=1),
            None,
            id="soft_failed_keeps_job_active",
        ),
        pytest.param(
            J.QUEUED,
            T.COMPLETED,
            counts(completed=1, queued=1),
            J.ACTIVE,
            id="completion_activates_queued_job",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.COMPLETED,
            counts(completed=1, paused=2),
            J.PAUSED,
            id="last_active_completed_pauses_job",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.COMPLETED,
            counts(completed=1, active=1, paused=2),
            None,
            id="still_active_keeps_pause_requested",
        ),
        pytest.param(
            J.ACTIVE,
            T.FAILED,
            counts(failed=1, queued=99),
            None,
            id="one_percent_failure_keeps_active_job",
        ),
        pytest.param(
            J.QUEUED,
            T.FAILED,
            counts(failed=1, queued=99),
            J.ACTIVE,
            id="one_percent_failure_activates_queued_job",
        ),
        pytest.param(
            J.ACTIVE,
            T.FAILED,
            counts(failed=10, queued=90),
            J.FAILED,
            id="ten_percent_failure_fails_job",
        ),
        pytest.param(
            J.ACTIVE,
            T.FAILED,
            counts(failed=1, completed=2),
            J.FAILED,
            id="small_job_fails_on_one_failure",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.FAILED,
            counts(failed=1, paused=99),
            J.PAUSED,
            id="failure_completes_pausing",
        ),
        pytest.param(
            J.COMPLETED,
            T.QUEUED,
            counts(queued=1, completed=2),
            J.REQUEUEING,
            id="requeue_task_of_completed_job",
        ),
        pytest.param(
            J.ACTIVE, T.QUEUED, counts(queued=1, active=1), None, id="requeue_task_of_active_job"
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.PAUSED,
            counts(paused=3),
            J.PAUSED,
            id="last_task_paused_pauses_job",
        ),
        pytest.param(
            J.ACTIVE, T.PAUSED, counts(paused=1, queued=2), None, id="paused_task_leaves_active_job"
        ),
        pytest.param(
            J.CANCEL_REQUESTED,
            T.CANCELED,
            counts(canceled=3),
            J.CANCELED,
            id="last_runnable_canceled_cancels_job",
        ),
        pytest.param(
            J.ACTIVE,
            T.CANCELED,
            counts(canceled=1, failed=2),
            J.CANCELED,
            id="canceled_with_others_failed_cancels_job",
        ),
        pytest.param(
            J.ACTIVE,
            T.CANCELED,
            counts(canceled=1, queued=2),
            None,
            id="canceled_with_runnable_left",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.CANCELED,
            counts(canceled=1, paused=2, queued=1),
            J.PAUSED,
            id="cancel_completes_pausing",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            T.CANCELED,
            counts(canceled=1, paused=2),
            J.CANCELED,
            id="cancel_of_last_runnable_beats_pausing",
        ),
    ],
)
def test_job_change_after_task_change(
    job_status: J, task_status: T, task_counts: dict[T, int], expected: J | None
) -> None:
    change = transitions.job_change_after_task_change(job_status, task_status, task_counts)
    assert (change.status if change else None) == expected


def test_job_change_carries_reason() -> None:
    change = transitions.job_change_after_task_change(
        J.ACTIVE, T.FAILED, counts(failed=5, queued=5)
    )
    assert change == JobChange(J.FAILED, "too many tasks failed")


@pytest.mark.parametrize(
    ("new", "old", "from_statuses", "to_status", "follow_up"),
    [
        pytest.param(
            J.CANCEL_REQUESTED,
            J.ACTIVE,
            {T.ACTIVE, T.QUEUED, T.SOFT_FAILED, T.PAUSED},
            T.CANCELED,
            J.CANCELED,
            id="cancel_cancels_runnable_and_paused",
        ),
        pytest.param(
            J.FAILED,
            J.ACTIVE,
            {T.ACTIVE, T.QUEUED, T.SOFT_FAILED, T.PAUSED},
            T.CANCELED,
            None,
            id="failed_job_cancels_rest",
        ),
        pytest.param(
            J.PAUSE_REQUESTED,
            J.ACTIVE,
            {T.QUEUED, T.SOFT_FAILED},
            T.PAUSED,
            J.PAUSED,
            id="pause_pauses_waiting_tasks",
        ),
        pytest.param(
            J.REQUEUEING,
            J.COMPLETED,
            None,
            T.QUEUED,
            J.QUEUED,
            id="requeue_completed_job_requeues_all",
        ),
        pytest.param(
            J.REQUEUEING,
            J.FAILED,
            {T.CANCELED, T.FAILED, T.PAUSED, T.SOFT_FAILED},
            T.QUEUED,
            J.QUEUED,
            id="requeue_failed_job_keeps_completed",
        ),
        pytest.param(
            J.REQUEUEING,
            J.PAUSED,
            {T.CANCELED, T.FAILED, T.PAUSED, T.SOFT_FAILED},
            T.QUEUED,
            J.QUEUED,
            id="resume_paused_job",
        ),
    ],
)
def test_effect_of_job_status_updates_tasks(
    new: J, old: J, from_statuses: set[T] | None, to_status: T, follow_up: J | None
) -> None:
    effect = transitions.effect_of_job_status(new, old)
    assert effect.task_update is not None
    got = effect.task_update.from_statuses
    assert (set(got) if got is not None else None) == from_statuses
    assert effect.task_update.to_status == to_status
    assert effect.follow_up == follow_up
    assert effect.refresh_tasks


@pytest.mark.parametrize(
    "status", [J.ACTIVE, J.COMPLETED, J.CANCELED, J.PAUSED, J.UNDER_CONSTRUCTION]
)
def test_effect_of_passive_job_statuses_leaves_tasks(status: J) -> None:
    effect = transitions.effect_of_job_status(status, J.QUEUED)
    assert effect.task_update is None
    assert effect.follow_up is None
    assert not effect.refresh_tasks


def test_cancel_activity_names_status() -> None:
    effect = transitions.effect_of_job_status(J.CANCEL_REQUESTED, J.ACTIVE)
    assert effect.task_update is not None
    assert effect.task_update.activity == (
        'Manager cancelled this task because the job got status "cancel-requested".'
    )


@pytest.mark.parametrize(
    ("current", "task_counts", "expected"),
    [
        pytest.param(J.PAUSE_REQUESTED, counts(paused=3), J.PAUSED, id="pause_done"),
        pytest.param(
            J.PAUSE_REQUESTED, counts(paused=2, active=1), None, id="pause_waits_for_active"
        ),
        pytest.param(J.QUEUED, counts(completed=3), J.COMPLETED, id="queued_all_done_completes"),
        pytest.param(J.QUEUED, counts(completed=2, queued=1), None, id="queued_with_work_stays"),
        pytest.param(J.CANCEL_REQUESTED, counts(canceled=3), J.CANCELED, id="cancel_done"),
        pytest.param(J.REQUEUEING, counts(queued=3), J.QUEUED, id="requeue_done"),
    ],
)
def test_next_job_status(current: J, task_counts: dict[T, int], expected: J | None) -> None:
    effect = transitions.effect_of_job_status(current, J.ACTIVE)
    assert transitions.next_job_status(current, effect, task_counts) == expected


@pytest.mark.parametrize(
    ("job_status", "expected"),
    [
        (J.ACTIVE, T.QUEUED),
        (J.QUEUED, T.QUEUED),
        (J.PAUSE_REQUESTED, T.PAUSED),
        (J.PAUSED, T.PAUSED),
    ],
)
def test_requeue_status_for_job(job_status: J, expected: T) -> None:
    assert transitions.requeue_status_for_job(job_status) == expected


def test_every_task_status_has_a_rule() -> None:
    for status in T:
        # Must not raise; every status is handled explicitly.
        transitions.job_change_after_task_change(J.ACTIVE, status, counts(completed=1))


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (J.ACTIVE, J.CANCEL_REQUESTED, True),
        (J.COMPLETED, J.CANCEL_REQUESTED, False),
        (J.ACTIVE, J.PAUSE_REQUESTED, True),
        (J.PAUSED, J.REQUEUEING, True),
        (J.FAILED, J.REQUEUEING, True),
        (J.ACTIVE, J.REQUEUEING, False),
        (J.QUEUED, J.COMPLETED, False),
        (J.QUEUED, J.ACTIVE, False),
    ],
)
def test_job_status_requests(current: J, requested: J, allowed: bool) -> None:
    assert (transitions.job_status_request_problem(current, requested) is None) == allowed


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (T.ACTIVE, T.CANCELED, True),
        (T.COMPLETED, T.CANCELED, False),
        (T.FAILED, T.QUEUED, True),
        (T.QUEUED, T.QUEUED, False),
        (T.QUEUED, T.ACTIVE, False),
        (T.ACTIVE, T.COMPLETED, False),
    ],
)
def test_task_status_requests(current: T, requested: T, allowed: bool) -> None:
    assert (transitions.task_status_request_problem(current, requested) is None) == allowed
