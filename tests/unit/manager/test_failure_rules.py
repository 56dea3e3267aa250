"""The failure rules as a table: each case names the facts and the decision they must give."""

from __future__ import annotations

import pytest

from flamenco.manager.state_machine.failure_rules import (
    FailureDecision,
    FailureFacts,
    FailurePolicy,
    FailureVerdict,
    decide_failure,
)

POLICY = FailurePolicy(blocklist_threshold=3, fail_after_softfail_count=3)

SOFT = FailureVerdict.SOFT_FAIL
HARD = FailureVerdict.HARD_FAIL
FAIL_JOB = FailureVerdict.FAIL_JOB

# (name, workers that failed the task, this Worker's failures of the type, Workers left,
#  verdict, block the Worker, requeue its failed tasks)
CASES = [
    ("first_failure_soft_fails", 1, 1, 4, SOFT, False, False),
    ("second_worker_still_soft_fails", 2, 1, 3, SOFT, False, False),
    ("third_worker_hard_fails_at_threshold", 3, 1, 2, HARD, False, False),
    ("beyond_threshold_hard_fails", 4, 1, 2, HARD, False, False),
    ("no_worker_left_fails_job", 1, 1, 0, FAIL_JOB, False, False),
    ("one_worker_left_soft_fails_unlike_upstream", 1, 1, 1, SOFT, False, False),
    ("threshold_reached_with_no_worker_left_hard_fails_task_only", 3, 1, 0, HARD, False, False),
    ("worker_below_blocklist_threshold_is_not_blocked", 1, 2, 4, SOFT, False, False),
    ("worker_at_blocklist_threshold_is_blocked_and_its_tasks_requeued", 1, 3, 4, SOFT, True, True),
    ("blocked_worker_and_hard_failure_together", 3, 3, 2, HARD, True, True),
    ("blocked_worker_was_the_last_one_fails_job", 1, 3, 0, FAIL_JOB, True, False),
    ("blocked_last_worker_fails_job_even_at_threshold", 3, 3, 0, FAIL_JOB, True, False),
]


@pytest.mark.parametrize(
    ("failed_task", "of_type", "left", "verdict", "block", "requeue"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide_failure(
    failed_task: int, of_type: int, left: int, verdict: FailureVerdict, block: bool, requeue: bool
) -> None:
    facts = FailureFacts(
        workers_failed_task=failed_task, worker_failures_of_type=of_type, workers_left=left
    )
    assert decide_failure(facts, POLICY) == FailureDecision(
        verdict=verdict, block_worker=block, requeue_workers_failed_tasks=requeue
    )


@pytest.mark.parametrize(
    ("policy", "facts", "verdict"),
    [
        (FailurePolicy(blocklist_threshold=1, fail_after_softfail_count=1), (1, 1, 5), HARD),
        (FailurePolicy(blocklist_threshold=5, fail_after_softfail_count=10), (9, 4, 1), SOFT),
        (FailurePolicy(blocklist_threshold=5, fail_after_softfail_count=10), (10, 4, 1), HARD),
    ],
    ids=["one_failure_is_enough", "just_below_a_high_threshold", "at_a_high_threshold"],
)
def test_decide_failure_follows_the_configured_policy(
    policy: FailurePolicy, facts: tuple[int, int, int], verdict: FailureVerdict
) -> None:
    failed_task, of_type, left = facts
    decision = decide_failure(
        FailureFacts(
            workers_failed_task=failed_task, worker_failures_of_type=of_type, workers_left=left
        ),
        policy,
    )
    assert decision.verdict == verdict
    assert decision.block_worker == (of_type >= policy.blocklist_threshold)
