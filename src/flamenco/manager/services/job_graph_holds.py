"""Why the job graph holds a job back from Workers, worded for the scheduling explainer."""

from __future__ import annotations

from dataclasses import dataclass

from flamenco.manager.persistence import job_dependencies
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.services.approvals import fetch_pending_approvals
from flamenco.manager.state_machine import job_graph_rules

# Stable codes, as the explainer reports them.
WAITING_FOR_DEPENDENCY = "waiting_for_dependency"
AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True, slots=True)
class Hold:
    code: str
    message: str


def job_graph_holds(conn: Connection, job_id: int) -> list[Hold]:
    """One hold per unfinished dependency, then one per approval awaiting a person.

    The dependencies are those the scheduler's "Job graph" condition checks; the
    approvals are the job's approval tasks that a person can decide on now.
    """
    holds = [
        Hold(WAITING_FOR_DEPENDENCY, job_graph_rules.waiting_message(dependency))
        for dependency in job_dependencies.fetch_unfinished_dependencies(conn, job_id)
    ]
    holds += [
        Hold(AWAITING_APPROVAL, job_graph_rules.awaiting_approval_message(pending.task.name))
        for pending in fetch_pending_approvals(conn, job_id)
    ]
    return holds
