"""A task's status change with its render-statistics run and its job's counts, on each database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence import Connection, Database, errors, jobs
from flamenco.manager.persistence.jobs import NewTask
from flamenco.manager.persistence.models import Task, Worker
from flamenco.manager.persistence.render_statistics import TaskRun, fetch_job_task_runs
from support.factories import T0, add_awake_worker, new_job, new_task

STARTED = T0 + dt.timedelta(minutes=5)
FINISHED = T0 + dt.timedelta(minutes=9)


def three_step_task(name: str) -> NewTask:
    step = {"name": "echo", "parameters": {"message": name}, "total_step_count": 3}
    return new_task(name, commands=[step])


async def test_a_task_handed_out_then_finished(db: Database) -> None:
    def arrange(conn: Connection) -> tuple[Worker, Task, str]:
        submitted = new_job([three_step_task("one"), three_step_task("two")])
        jobs.insert_job(conn, submitted)
        worker = add_awake_worker(conn, "renderbox", "10.0.0.7")
        return worker, jobs.fetch_task(conn, submitted.tasks[0].uuid), submitted.uuid

    worker, queued, job_uuid = await db.write(arrange)

    def hand_out(conn: Connection) -> jobs.TaskStatusChanged:
        return jobs.change_task_status(
            conn, queued, TaskStatus.ACTIVE, STARTED, assign_to=worker.id, record_run=True
        )

    started = await db.write(hand_out)
    assert started.task.status == TaskStatus.ACTIVE
    assert started.task.worker is not None
    assert (started.task.worker.uuid, started.task.worker.name) == (worker.uuid, "renderbox")
    assert started.task.last_touched_at == STARTED
    assert started.task.status_changed_at == STARTED
    assert started.task.job_uuid == job_uuid
    assert (started.job.uuid, started.job.status) == (job_uuid, JobStatus.QUEUED)
    assert started.job.settings == {} and started.job.max_workers is None
    assert started.steps_delta == 0

    def finish(conn: Connection) -> jobs.TaskStatusChanged:
        return jobs.change_task_status(
            conn, started.task, TaskStatus.COMPLETED, FINISHED, record_run=True
        )

    finished = await db.write(finish)
    assert finished.task.status == TaskStatus.COMPLETED
    assert finished.task.steps_completed == finished.task.steps_total
    assert finished.steps_delta == finished.task.steps_total > 0
    assert finished.task.worker is not None and finished.task.worker.uuid == worker.uuid
    # The job took the task's steps, and comes back as it is now.
    assert (finished.job.steps_completed, finished.job.updated_at) == (3, FINISHED)
    stored_job = await db.read(lambda conn: jobs.fetch_job_by_id(conn, started.job.id))
    assert (stored_job.steps_completed, stored_job.steps_total) == (3, 6)
    assert started.job.steps_completed == 0

    counts = await db.read(lambda conn: jobs.count_tasks_by_status(conn, started.job.id))
    assert {status: n for status, n in counts.items() if n} == {
        TaskStatus.QUEUED: 1,
        TaskStatus.COMPLETED: 1,
    }
    runs = await db.read(lambda conn: fetch_job_task_runs(conn, job_uuid))
    assert runs == [
        TaskRun(
            task_uuid=queued.uuid,
            task_name="one",
            task_type="misc",
            job_uuid=job_uuid,
            worker_uuid=worker.uuid,
            worker_name="renderbox",
            queued_at=queued.updated_at,
            started_at=STARTED,
            finished_at=FINISHED,
            status="completed",
        )
    ]


async def test_no_run_is_recorded_unless_asked(db: Database) -> None:
    def arrange(conn: Connection) -> tuple[Worker, Task, str]:
        submitted = new_job([three_step_task("one")])
        jobs.insert_job(conn, submitted)
        worker = add_awake_worker(conn, "renderbox", "10.0.0.7")
        return worker, jobs.fetch_task(conn, submitted.tasks[0].uuid), submitted.uuid

    worker, queued, job_uuid = await db.write(arrange)
    await db.write(
        lambda conn: jobs.change_task_status(
            conn, queued, TaskStatus.ACTIVE, STARTED, assign_to=worker.id
        )
    )
    assert await db.read(lambda conn: fetch_job_task_runs(conn, job_uuid)) == []


async def test_a_task_deleted_meanwhile_is_not_found(db: Database) -> None:
    def arrange(conn: Connection) -> Task:
        submitted = new_job([three_step_task("one")])
        jobs.insert_job(conn, submitted)
        return jobs.fetch_task(conn, submitted.tasks[0].uuid)

    queued = await db.write(arrange)
    gone = dataclasses.replace(queued, id=-1)
    with pytest.raises(errors.TaskNotFound):
        await db.write(lambda conn: jobs.change_task_status(conn, gone, TaskStatus.ACTIVE, STARTED))
