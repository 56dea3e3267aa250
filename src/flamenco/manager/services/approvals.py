"""Approval tasks: a person approves (the task completes) or rejects (it fails, and its job)."""

from __future__ import annotations

import dataclasses
import logging

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import Clock
from flamenco.manager.errors import RequestRefused
from flamenco.manager.persistence import Database, job_dependencies, jobs
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Task
from flamenco.manager.state_machine import job_graph_rules
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)


class ApprovalNotPending(RequestRefused):
    """The task is not an approval waiting for a decision."""

    status = 409


@dataclasses.dataclass(frozen=True, slots=True)
class PendingApproval:
    """An approval task that a person can decide on now."""

    task: Task
    job_name: str


def fetch_pending_approvals(conn: Connection, job_id: int) -> list[PendingApproval]:
    """The job's approval tasks awaiting a decision now (for the scheduling explainer too)."""
    job = jobs.fetch_job_by_id(conn, job_id)
    unfinished_jobs = job_dependencies.fetch_unfinished_dependencies(conn, job_id)
    return [
        PendingApproval(approval.task, job.name)
        for approval in job_dependencies.fetch_approval_tasks(conn, job_id)
        if job_graph_rules.approval_problem(
            approval.task.task_type,
            approval.task.status,
            job.status,
            approval.unfinished_dependencies,
            unfinished_jobs,
        )
        is None
    ]


def _signed(text: str, approver: str) -> str:
    return f"{text} by {approver}" if approver else text


class ApprovalService:
    def __init__(self, *, db: Database, state_machine: StateMachine, clock: Clock) -> None:
        self._db = db
        self._state_machine = state_machine
        self._clock = clock

    async def approve(self, task_uuid: str, *, approver: str = "", comment: str = "") -> None:
        activity = _signed("Approved", approver) + (f": {comment}" if comment else "")
        await self._decide(task_uuid, TaskStatus.COMPLETED, activity)

    async def reject(self, task_uuid: str, *, reason: str, approver: str = "") -> None:
        await self._decide(
            task_uuid, TaskStatus.FAILED, _signed("Rejected", approver) + f": {reason}"
        )

    async def _decide(self, task_uuid: str, status: TaskStatus, activity: str) -> None:
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> None:
            task = jobs.fetch_task(conn, task_uuid)
            # Locked, then read again: of two decisions at once, the second sees the first.
            task = dataclasses.replace(
                task, status=job_dependencies.fetch_task_status_for_update(conn, task.id)
            )
            job = jobs.fetch_job_for_update(conn, task.job_id)
            unfinished = [
                approval.unfinished_dependencies
                for approval in job_dependencies.fetch_approval_tasks(conn, job.id)
                if approval.task.id == task.id
            ]
            problem = job_graph_rules.approval_problem(
                task.task_type,
                task.status,
                job.status,
                unfinished[0] if unfinished else 0,
                job_dependencies.fetch_unfinished_dependencies(conn, job.id),
            )
            if problem is not None:
                raise ApprovalNotPending(problem)
            jobs.save_task_activity(conn, task.id, activity, now)
            changes.log(job.uuid, task.uuid, activity)
            applied = self._state_machine.apply_task_status(conn, changes, task, status, now)
            if status == TaskStatus.FAILED and applied.job.status not in (
                JobStatus.FAILED,
                JobStatus.CANCELED,
            ):
                # What waits for the approval would otherwise stay queued forever.
                self._state_machine.apply_job_status(
                    conn, changes, applied.job, JobStatus.FAILED, "approval rejected", now
                )

        await self._db.write(transaction)
        self._state_machine.publish(changes)
        logger.info("approval decided", extra={"task": task_uuid, "status": status})
