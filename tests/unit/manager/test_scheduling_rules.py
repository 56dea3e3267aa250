"""The scheduling rules as pure functions: capacity decisions and the explainer's reasons."""

from __future__ import annotations

import dataclasses
from typing import Any

from flamenco.api.enums import JobStatus, WorkerStatus
from flamenco.manager import scheduling_rules as rules
from flamenco.manager.scheduling_rules import ReadyTask, ReasonCode, WorkerView


def worker(worker_id: int = 1, **overrides: Any) -> WorkerView:
    values: dict[str, Any] = {
        "id": worker_id,
        "uuid": f"uuid-{worker_id}",
        "name": f"w{worker_id}",
        "platform": "linux",
        "status": WorkerStatus.AWAKE,
        "status_requested": None,
        "supported_task_types": frozenset({"misc"}),
        "tag_ids": frozenset(),
    }
    values.update(overrides)
    return WorkerView(**values)


def snapshot(**overrides: Any) -> rules.JobSnapshot:
    values: dict[str, Any] = {
        "job_id": 7,
        "status": JobStatus.QUEUED,
        "deletion_requested": False,
        "max_workers": None,
        "worker_tag_id": None,
        "worker_tag_name": "",
        "active_tasks": 0,
        "ready_tasks": (ReadyTask(1, "misc"), ReadyTask(2, "misc")),
        "limits_by_task_type": {},
        "limit_capacities": {},
        "limit_usage": {},
        "blocklisted": frozenset(),
        "failed": frozenset(),
        "workers": (worker(1), worker(2)),
    }
    values.update(overrides)
    return rules.JobSnapshot(**values)


def codes(reasons: list[rules.Reason]) -> list[ReasonCode]:
    return [reason.code for reason in reasons]


def test_capacity_decisions() -> None:
    assert not rules.at_max_workers(None, 100)
    assert not rules.at_max_workers(2, 1)
    assert rules.at_max_workers(2, 2)
    assert rules.at_max_workers(2, 3)  # lowered below what already runs
    capacities = {"nuke": 2, "nas": 0, "idle": 5}
    assert rules.exhausted_limits(capacities, {"nuke": 2, "unknown": 9}) == {"nuke", "nas"}
    assert rules.limits_in_the_way(["nas", "nuke", "unconfigured"], capacities, {"nuke": 1}) == [
        "nas"
    ]


def test_a_runnable_job_has_no_reasons() -> None:
    assert rules.explain(snapshot()) == []
    assert rules.explain(snapshot(), worker(1)) == []


def test_job_status_comes_first_and_alone() -> None:
    paused = snapshot(status=JobStatus.PAUSED, ready_tasks=())
    assert codes(rules.explain(paused)) == [ReasonCode.JOB_PAUSED]
    failed = snapshot(status=JobStatus.FAILED)
    assert codes(rules.explain(failed)) == [ReasonCode.JOB_NOT_QUEUED]
    deleting = snapshot(deletion_requested=True)
    assert codes(rules.explain(deleting)) == [ReasonCode.JOB_DELETION_REQUESTED]


def test_no_ready_task_and_max_workers_together() -> None:
    job = snapshot(ready_tasks=(), active_tasks=2, max_workers=2)
    assert codes(rules.explain(job)) == [ReasonCode.NO_TASK_READY, ReasonCode.MAX_WORKERS_REACHED]


def test_a_limit_holds_back_only_the_task_types_that_take_it() -> None:
    mixed = snapshot(
        ready_tasks=(ReadyTask(1, "comp"), ReadyTask(2, "misc")),
        limits_by_task_type={"comp": frozenset({"nuke"})},
        limit_capacities={"nuke": 1},
        limit_usage={"nuke": 1},
        workers=(worker(1, supported_task_types=frozenset({"comp", "misc"})),),
    )
    assert rules.explain(mixed) == []
    only_comp = dataclasses.replace(mixed, ready_tasks=(ReadyTask(1, "comp"),))
    assert rules.explain(only_comp) == [
        rules.Reason(ReasonCode.LIMIT_EXHAUSTED, "limit nuke exhausted: 1 of 1 in use")
    ]
    # A Worker that only runs comp tasks is held back by the limit on the mixed job.
    comp_only = worker(3, supported_task_types=frozenset({"comp"}))
    assert codes(rules.explain(mixed, comp_only)) == [ReasonCode.WORKER_INCAPABLE]


def test_every_capable_worker_blocklisted() -> None:
    job = snapshot(
        blocklisted=frozenset({(1, "misc"), (2, "misc")}),
        workers=(worker(1), worker(2), worker(3, supported_task_types=frozenset({"blender"}))),
    )
    assert rules.explain(job) == [
        rules.Reason(
            ReasonCode.WORKER_BLOCKLISTED,
            "every capable Worker is blocklisted for this job's task type",
        )
    ]


def test_every_capable_worker_failed_the_tasks() -> None:
    job = snapshot(failed=frozenset({(1, 1), (1, 2), (2, 1), (2, 2)}))
    assert codes(rules.explain(job)) == [ReasonCode.WORKER_FAILED_TASK]
    # One task left that Worker 2 did not fail: it may run that one.
    partly = dataclasses.replace(job, failed=frozenset({(1, 1), (1, 2), (2, 1)}))
    assert rules.explain(partly) == []
    assert codes(rules.explain(partly, worker(1))) == [ReasonCode.WORKER_FAILED_TASK]


def test_every_capable_worker_unavailable() -> None:
    job = snapshot(
        workers=(
            worker(1, status=WorkerStatus.ASLEEP),
            worker(2, status=WorkerStatus.OFFLINE),
            worker(3, busy_with_job_id=99),
            worker(4, status_requested=WorkerStatus.ASLEEP),
        )
    )
    assert codes(rules.explain(job)) == [ReasonCode.WORKERS_UNAVAILABLE]
    # Busy with this very job is no reason: it is running it.
    assert rules.explain(job, worker(5, busy_with_job_id=7)) == []
    assert codes(rules.explain(snapshot(workers=()))) == [ReasonCode.WORKERS_UNAVAILABLE]


def test_tags_and_capabilities_narrow_the_farm_first() -> None:
    tagged = snapshot(worker_tag_id=3, worker_tag_name="gpu")
    assert rules.explain(tagged) == [
        rules.Reason(ReasonCode.NO_WORKER_WITH_TAG, "no Worker with tag gpu")
    ]
    in_tag = worker(1, tag_ids=frozenset({3}), supported_task_types=frozenset({"blender"}))
    assert codes(rules.explain(dataclasses.replace(tagged, workers=(in_tag,)))) == [
        ReasonCode.WORKER_INCAPABLE
    ]
