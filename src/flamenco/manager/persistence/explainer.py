"""Loading the snapshot of one job and the farm around it that the scheduling rules explain."""

from __future__ import annotations

from collections.abc import Mapping

from flamenco.api.enums import WorkerStatus
from flamenco.manager import scheduling_rules as rules
from flamenco.manager.persistence import errors, job_dependencies, jobs, resource_limits
from flamenco.manager.persistence.connection import Connection, Row
from flamenco.manager.persistence.models import split_task_types

# Enough of the job's next tasks to judge "failed these before" by; a job rarely has
# more Workers' failures than this.
READY_TASKS_LOOKED_AT = 500


def load_snapshot(
    conn: Connection,
    job_uuid: str,
    limit_capacities: Mapping[str, int],
    *,
    worker_uuid: str | None = None,
) -> tuple[rules.JobSnapshot, rules.WorkerView | None]:
    """The job's snapshot, and the one Worker asked about (raises JobNotFound, WorkerNotFound).

    Pending approvals are the approval service's to say (services/scheduling.py adds them).
    """
    job = jobs.fetch_job(conn, job_uuid)
    asked = None
    if worker_uuid:
        asked = conn.execute("fetch_worker_for_rules", {"uuid": worker_uuid}).fetchone()
        if asked is None:
            raise errors.WorkerNotFound(f"worker {worker_uuid} not found")
    tag_name = ""
    if job.worker_tag_id is not None:
        row = conn.execute("fetch_worker_tag_name", {"id": job.worker_tag_id}).fetchone()
        tag_name = "" if row is None else str(row[0])
    ready = tuple(
        rules.ReadyTask(int(row[0]), str(row[1]))
        for row in conn.execute(
            "fetch_ready_tasks_of_job", {"job_id": job.id, "limit": READY_TASKS_LOOKED_AT}
        )
    )
    memberships: dict[int, set[int]] = {}
    for row in conn.execute("fetch_tag_memberships"):
        memberships.setdefault(int(row[0]), set()).add(int(row[1]))
    busy = {int(row[0]): int(row[1]) for row in conn.execute("fetch_busy_workers")}
    farm = [asked] if asked is not None else conn.execute("fetch_workers_for_rules").fetchall()
    views = tuple(_view(row, memberships, busy) for row in farm)
    snapshot = rules.JobSnapshot(
        job_id=job.id,
        status=job.status,
        deletion_requested=job.delete_requested_at is not None,
        max_workers=job.max_workers,
        worker_tag_id=job.worker_tag_id,
        worker_tag_name=tag_name,
        active_tasks=resource_limits.count_active_tasks_of_job(conn, job.id),
        ready_tasks=ready,
        limits_by_task_type=resource_limits.fetch_job_limits(conn, job.id),
        limit_capacities=dict(limit_capacities),
        limit_usage=resource_limits.fetch_usage(conn) if limit_capacities else {},
        blocklisted=frozenset(
            (int(row[0]), str(row[1]))
            for row in conn.execute("fetch_job_blocklist_pairs", {"job_id": job.id})
        ),
        failed=frozenset(
            (int(row[0]), int(row[1]))
            for row in conn.execute("fetch_job_failure_pairs", {"job_id": job.id})
        ),
        workers=views,
        unfinished_dependencies=tuple(job_dependencies.fetch_unfinished_dependencies(conn, job.id)),
    )
    return snapshot, (views[0] if asked is not None else None)


def _view(
    row: Row, memberships: Mapping[int, set[int]], busy: Mapping[int, int]
) -> rules.WorkerView:
    worker_id = int(row["id"])
    requested = row["status_requested"]
    return rules.WorkerView(
        id=worker_id,
        uuid=row["uuid"],
        name=row["name"],
        platform=row["platform"],
        status=WorkerStatus(row["status"]),
        status_requested=WorkerStatus(requested) if requested else None,
        supported_task_types=frozenset(split_task_types(row["supported_task_types"])),
        tag_ids=frozenset(memberships.get(worker_id, ())),
        busy_with_job_id=busy.get(worker_id),
    )
