"""The pure rules of job dependencies and approvals: who waits, and what that says."""

from __future__ import annotations

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.state_machine import job_graph_rules as rules


def ref(name: str, status: JobStatus) -> rules.JobRef:
    return rules.JobRef(id=hash(name) % 1000, uuid=f"uuid-{name}", name=name, status=status)


def test_a_job_waits_for_every_dependency_not_completed() -> None:
    bake, sim = ref("bake", JobStatus.COMPLETED), ref("sim", JobStatus.ACTIVE)
    assert rules.unfinished([bake, sim]) == [sim]
    assert rules.waiting_reason([bake, sim]) == 'Waiting for dependency "sim" (active)'
    assert rules.waiting_reason([bake]) == ""
    assert rules.waiting_reason([]) == ""


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (JobStatus.QUEUED, 'waiting for dependency "bake" (queued)'),
        (JobStatus.PAUSED, 'waiting for dependency "bake", which is paused'),
        (
            JobStatus.FAILED,
            'waiting for dependency "bake", which is failed; requeue it to continue',
        ),
        (
            JobStatus.CANCELED,
            'waiting for dependency "bake", which is canceled; requeue it to continue',
        ),
    ],
)
def test_waiting_messages_say_what_to_do(status: JobStatus, message: str) -> None:
    assert rules.waiting_message(ref("bake", status)) == message


def test_activity_after_a_dependency_changed() -> None:
    done, other = ref("bake", JobStatus.COMPLETED), ref("sim", JobStatus.QUEUED)
    assert rules.activity_after_dependency_change(done, [done]) == (
        'All dependencies completed (last: "bake"); the job can run'
    )
    assert rules.activity_after_dependency_change(done, [done, other]) == (
        'Waiting for dependency "sim" (queued)'
    )
    failed = ref("bake", JobStatus.FAILED)
    assert "requeue it" in (rules.activity_after_dependency_change(failed, [failed]) or "")
    active = ref("bake", JobStatus.ACTIVE)
    assert rules.activity_after_dependency_change(active, [active]) is None


def test_approval_problems() -> None:
    def problem(**changes: object) -> str | None:
        arguments: dict[str, object] = {
            "task_type": "approval",
            "task_status": TaskStatus.QUEUED,
            "job_status": JobStatus.ACTIVE,
            "unfinished_task_dependencies": 0,
            "unfinished_job_dependencies": [],
        }
        arguments.update(changes)
        return rules.approval_problem(**arguments)  # type: ignore[arg-type]

    assert problem() is None
    assert '"approval"' in (problem(task_type="blender") or "")
    assert "not pending" in (problem(task_status=TaskStatus.COMPLETED) or "")
    assert "paused" in (problem(job_status=JobStatus.PAUSED) or "")
    assert "2 task(s)" in (problem(unfinished_task_dependencies=2) or "")
    waiting = problem(unfinished_job_dependencies=[ref("bake", JobStatus.QUEUED)])
    assert 'dependency "bake"' in (waiting or "")
    assert rules.awaiting_approval_message("approve") == 'awaiting approval of "approve"'
