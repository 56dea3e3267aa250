"""Task scheduling rules against a real SQLite database."""

from __future__ import annotations

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.persistence import (
    Connection,
    Database,
    failures,
    jobs,
    scheduler,
    workers,
)
from flamenco.manager.persistence.models import Worker
from support.factories import T0, new_job, new_task


def add_worker(
    conn: Connection, name: str = "worker", task_types: tuple[str, ...] = ("misc",)
) -> Worker:
    worker = workers.insert_worker(
        conn,
        uuid=f"00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}",
        secret_hash="x",
        name=name,
        address="127.0.0.1",
        platform="linux",
        supported_task_types=task_types,
        now=T0,
    )
    workers.save_status(conn, worker.id, WorkerStatus.AWAKE, T0)
    return workers.fetch_worker_by_id(conn, worker.id)


def next_task_name(conn: Connection, worker: Worker) -> str | None:
    found = scheduler.find_runnable_task(conn, worker)
    return None if found is None else jobs.fetch_task_by_id(conn, found.id).name


async def test_no_tasks_no_schedule(db: Database) -> None:
    def check(conn: Connection) -> None:
        assert next_task_name(conn, add_worker(conn)) is None

    await db.write(check)


async def test_job_priority_then_task_priority_then_submission_order(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        jobs.insert_job(conn, new_job([new_task("low-job")], priority=10))
        jobs.insert_job(
            conn,
            new_job(
                [new_task("first"), new_task("urgent", priority=70), new_task("third")],
                priority=60,
            ),
        )
        order = []
        while (found := scheduler.find_runnable_task(conn, worker)) is not None:
            task = jobs.fetch_task_by_id(conn, found.id)
            order.append(task.name)
            jobs.save_task_status(conn, task, TaskStatus.COMPLETED, T0)
        assert order == ["urgent", "first", "third", "low-job"]

    await db.write(check)


async def test_dependencies_must_be_completed(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        first = new_task("first")
        second = new_task("second", dependencies=[first.uuid], priority=100)
        jobs.insert_job(conn, new_job([first, second]))
        assert next_task_name(conn, worker) == "first"
        task = jobs.fetch_task(conn, first.uuid)
        jobs.save_task_status(conn, task, TaskStatus.ACTIVE, T0)
        assert next_task_name(conn, worker) is None
        jobs.save_task_status(conn, jobs.fetch_task(conn, first.uuid), TaskStatus.COMPLETED, T0)
        assert next_task_name(conn, worker) == "second"

    await db.write(check)


async def test_unsupported_task_types_are_skipped(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn, task_types=("misc",))
        jobs.insert_job(conn, new_job([new_task("render", task_type="blender"), new_task("echo")]))
        assert next_task_name(conn, worker) == "echo"

    await db.write(check)


async def test_jobs_that_are_not_runnable_are_skipped(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        jobs.insert_job(
            conn, new_job([new_task("paused-job")], status=JobStatus.PAUSED, priority=90)
        )
        jobs.insert_job(conn, new_job([new_task("queued-job")]))
        assert next_task_name(conn, worker) == "queued-job"

    await db.write(check)


async def test_soft_failed_tasks_are_scheduled_but_not_to_their_failers(db: Database) -> None:
    def check(conn: Connection) -> None:
        failer = add_worker(conn, "failer")
        other = add_worker(conn, "other")
        task = new_task("flaky")
        jobs.insert_job(conn, new_job([task]))
        stored = jobs.fetch_task(conn, task.uuid)
        jobs.save_task_status(conn, stored, TaskStatus.SOFT_FAILED, T0)
        failures.add_task_failure(conn, stored.id, failer.id, T0)
        assert next_task_name(conn, failer) is None
        assert next_task_name(conn, other) == "flaky"

    await db.write(check)


async def test_blocklisted_task_type_is_skipped(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn, task_types=("misc", "blender"))
        job_id = jobs.insert_job(
            conn, new_job([new_task("render", task_type="blender"), new_task("echo")])
        )
        failures.add_job_block(conn, job_id, worker.id, "blender", T0)
        assert next_task_name(conn, worker) == "echo"

    await db.write(check)


async def test_worker_tags_route_jobs(db: Database) -> None:
    def check(conn: Connection) -> None:
        tag = workers.insert_tag(
            conn, uuid="5b1b1b5e-0000-4000-8000-000000000001", name="gpu", description="", now=T0
        )
        tagged = add_worker(conn, "tagged")
        workers.set_tags_of_worker(conn, tagged.id, [tag.uuid])
        untagged = add_worker(conn, "untagged")
        jobs.insert_job(conn, new_job([new_task("gpu-task")], worker_tag_id=tag.id, priority=90))
        jobs.insert_job(conn, new_job([new_task("any-task")]))
        assert next_task_name(conn, tagged) == "gpu-task"
        assert next_task_name(conn, untagged) == "any-task"

    await db.write(check)


async def test_already_assigned_active_task_comes_first(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        task = new_task("running", priority=1)
        jobs.insert_job(conn, new_job([task, new_task("other", priority=99)]))
        stored = jobs.fetch_task(conn, task.uuid)
        jobs.assign_task(conn, stored.id, worker.id, T0)
        jobs.save_task_status(conn, stored, TaskStatus.ACTIVE, T0)
        assigned = scheduler.fetch_assigned_active_task(conn, worker)
        assert assigned is not None and assigned.id == stored.id

    await db.write(check)


async def test_job_priority_change_reorders_schedule(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        jobs.insert_job(conn, new_job([new_task("early")], priority=50))
        later = jobs.insert_job(conn, new_job([new_task("late")], priority=50))
        assert next_task_name(conn, worker) == "early"
        jobs.save_job_priority(conn, later, 80, T0)
        assert next_task_name(conn, worker) == "late"

    await db.write(check)


async def test_jobs_waiting_for_deletion_are_not_scheduled(db: Database) -> None:
    def check(conn: Connection) -> None:
        worker = add_worker(conn)
        doomed = jobs.insert_job(conn, new_job([new_task("doomed")], priority=90))
        jobs.insert_job(conn, new_job([new_task("kept")], priority=10))
        assert next_task_name(conn, worker) == "doomed"
        jobs.request_job_deletion(conn, doomed, T0)
        assert next_task_name(conn, worker) == "kept"

    await db.write(check)
