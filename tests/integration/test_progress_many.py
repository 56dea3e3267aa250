"""Several progress reports saved in one go, on each database the Manager runs on."""

from __future__ import annotations

import datetime as dt
import uuid

from flamenco.api.enums import TaskStatus
from flamenco.manager.persistence import Connection, Database, errors, jobs, workers
from flamenco.manager.persistence.jobs import ProgressReport
from flamenco.manager.persistence.models import Worker
from support.factories import T0, add_awake_worker, new_job, new_task

LATER = T0 + dt.timedelta(minutes=5)


def report(
    task_uuid: str, worker: Worker | str, activity: str | None, *, progressed: bool = True
) -> ProgressReport:
    sender = worker if isinstance(worker, str) else worker.uuid
    return ProgressReport(
        task_uuid=task_uuid,
        worker_uuid=sender,
        activity=activity,
        now=LATER,
        progressed=progressed,
    )


async def test_each_report_has_its_own_outcome(db: Database) -> None:
    def arrange(conn: Connection) -> tuple[list[Worker], list[str]]:
        owners = [add_awake_worker(conn, "first"), add_awake_worker(conn, "second")]
        tasks = [new_task("one"), new_task("two"), new_task("idle")]
        jobs.insert_job(conn, new_job(tasks))
        for owner, task in zip(owners, tasks, strict=False):
            stored = jobs.fetch_task(conn, task.uuid)
            jobs.assign_task(conn, stored.id, owner.id, T0)
            jobs.save_task_status(conn, stored, TaskStatus.ACTIVE, T0)
        return owners, [task.uuid for task in tasks]

    (first, second), (one, two, idle) = await db.write(arrange)
    outsider = await db.write(lambda conn: add_awake_worker(conn, "outsider"))
    outcomes = await db.write(
        lambda conn: jobs.record_progress_many(
            conn,
            [
                report(one, first, "rendering one"),
                report(two, second, None, progressed=False),
                report(idle, outsider, "not assigned"),
                report(str(uuid.uuid4()), first, "no such task"),
                report(one, str(uuid.uuid4()), "no such worker"),
            ],
        ),
        one_statement=True,
    )

    (ref_one, sender_one), (ref_two, sender_two), (ref_idle, sender_idle) = outcomes[:3]
    assert (ref_one.uuid, ref_one.worker_id, sender_one) == (one, first.id, first.id)
    assert (ref_two.uuid, ref_two.worker_id, sender_two) == (two, second.id, second.id)
    assert (ref_idle.uuid, ref_idle.worker_id, sender_idle) == (idle, None, outsider.id)
    assert isinstance(outcomes[3], errors.TaskNotFound)
    assert isinstance(outcomes[4], errors.WorkerNotFound)

    def saved(conn: Connection) -> dict[str, tuple[str, dt.datetime | None, dt.datetime]]:
        return {
            uuid: (task.activity, task.last_touched_at, task.updated_at)
            for uuid in (one, two, idle)
            for task in [jobs.fetch_task(conn, uuid)]
        }

    after = await db.read(saved)
    assert after[one] == ("rendering one", LATER, LATER)
    # Touched; no activity sent, so the old one stays, and so does its change time.
    assert after[two][1:] == (LATER, T0)
    assert after[idle][0] != "not assigned" and after[idle][1] != LATER
    # Only a report that moved its task on counts as progress (see task_timeouts).
    stalled = await db.read(
        lambda conn: jobs.fetch_active_tasks_without_progress_since(
            conn, LATER - dt.timedelta(seconds=1)
        )
    )
    assert [task.uuid for task in stalled] == [two]
    seen = await db.read(
        lambda conn: [workers.fetch_worker(conn, w.uuid) for w in (first, outsider)]
    )
    assert seen[0].last_seen_at == LATER
    assert seen[1].last_seen_at != LATER  # Its report was not about its own task.
