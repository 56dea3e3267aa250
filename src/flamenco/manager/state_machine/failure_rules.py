"""Pure rules for a task a Worker failed: soft fail, hard fail, blocklist, or fail the job."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class FailurePolicy:
    """How many failures the farm tolerates, from the Manager configuration."""

    blocklist_threshold: int
    fail_after_softfail_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureFacts:
    """What the database says right after the failure was recorded."""

    # Distinct Workers that failed this task, the reporting one included.
    workers_failed_task: int
    # Tasks of this type in this job that the reporting Worker failed, this one included.
    worker_failures_of_type: int
    # Workers that could still run the task: able to run its type in this job, not
    # blocklisted, and not among the Workers that already failed it. The reporting
    # Worker has failed it, so blocklisting that Worker does not change this number.
    workers_left: int


class FailureVerdict(enum.StrEnum):
    SOFT_FAIL = "soft-fail"  # back to the queue for another Worker
    HARD_FAIL = "hard-fail"  # the task fails; the job's own rules decide about the job
    FAIL_JOB = "fail-job"  # no Worker is left for the task, so the whole job fails


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureDecision:
    verdict: FailureVerdict
    # Keep the reporting Worker away from this job's tasks of this type.
    block_worker: bool
    # Give the blocked Worker's earlier failed tasks of this job another chance elsewhere.
    requeue_workers_failed_tasks: bool


def decide_failure(facts: FailureFacts, policy: FailurePolicy) -> FailureDecision:
    """What to do about a failed task, in upstream's order of checks.

    Upstream counts the just-recorded failure twice when blocklisting, which blocks
    a Worker one failure early; here the count includes it once. Upstream also
    fails the job while one Worker is still left; here only when none is.
    """
    block = facts.worker_failures_of_type >= policy.blocklist_threshold
    if block and facts.workers_left == 0:
        return FailureDecision(
            verdict=FailureVerdict.FAIL_JOB, block_worker=True, requeue_workers_failed_tasks=False
        )
    if facts.workers_failed_task >= policy.fail_after_softfail_count:
        verdict = FailureVerdict.HARD_FAIL
    elif facts.workers_left == 0:
        verdict = FailureVerdict.FAIL_JOB
    else:
        verdict = FailureVerdict.SOFT_FAIL
    return FailureDecision(verdict=verdict, block_worker=block, requeue_workers_failed_tasks=block)
