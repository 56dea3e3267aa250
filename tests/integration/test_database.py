"""The database under stress: busy files, damaged files, and start-up recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import SystemClock
from flamenco.manager import config, persistence
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.persistence import IntegrityError, database, jobs
from flamenco.manager.persistence.database import SQLiteDatabase
from flamenco.manager.persistence.errors import JobNotFound
from flamenco.manager.services import job_deleter
from flamenco.manager.services.local_storage import LocalStorage
from flamenco.manager.services.task_logs import TaskLogs
from support.factories import T0, new_job, new_task
from support.manager import run_manager


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_busy_database_answers_503_with_retry_after(
    manager_config: config.LoadedConfig,
) -> None:
    async for running in run_manager(manager_config, database_busy_timeout_ms=100):
        # Another program (a backup, the sqlite3 shell) holds the write lock.
        other = sqlite3.connect(manager_config.database_path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            reply = await running.client.post(
                "/api/v3/worker-mgt/tags", json_body={"name": "blocked"}, expect=503
            )
            assert reply.headers["Retry-After"] == "1"
            assert "busy" in reply.json()["message"]
        finally:
            other.execute("ROLLBACK")
            other.close()
        await running.client.post("/api/v3/worker-mgt/tags", json_body={"name": "fine"}, expect=200)


async def test_damaged_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flamenco-manager.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(IntegrityError, match="cannot use database"):
        await SQLiteDatabase.open(path)


async def test_failed_write_is_rolled_back_alone(tmp_path: Path) -> None:
    db = await SQLiteDatabase.open(tmp_path / "db.sqlite")
    try:

        def good(conn: sqlite3.Connection) -> int:
            return jobs.insert_job(conn, new_job([new_task("kept")]))

        def bad(conn: sqlite3.Connection) -> None:
            jobs.insert_job(conn, new_job([new_task("dropped")]))
            raise RuntimeError("changed my mind")

        results = await asyncio.gather(db.write(good), db.write(bad), return_exceptions=True)
        assert isinstance(results[0], int)
        assert isinstance(results[1], RuntimeError)
        names = await db.read(
            lambda conn: [row[0] for row in conn.raw.execute("SELECT name FROM tasks")]
        )
        assert names == ["kept"]
    finally:
        await db.close()


async def test_urgent_write_skips_the_queue_into_a_transaction_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[str]] = []
    run_batch = database._run_batch

    def recording_run_batch(
        conn: sqlite3.Connection, functions: list[Callable[[sqlite3.Connection], Any]]
    ) -> list[tuple[bool, Any]]:
        batches.append([fn.__name__ for fn in functions])
        return run_batch(conn, functions)

    monkeypatch.setattr(database, "_run_batch", recording_run_batch)
    db = await SQLiteDatabase.open(tmp_path / "db.sqlite")
    try:

        def writer(name: str) -> Callable[[sqlite3.Connection], None]:
            def write(conn: sqlite3.Connection) -> None:
                conn.raw.execute("CREATE TABLE IF NOT EXISTS written (name TEXT)")
                conn.raw.execute("INSERT INTO written VALUES (?)", (name,))

            write.__name__ = name
            return write

        first = asyncio.ensure_future(db.write(writer("in progress")))
        await asyncio.sleep(0)  # The first transaction starts with only this write.
        queued = [asyncio.ensure_future(db.write(writer(f"queued {n}"))) for n in range(3)]
        urgent = asyncio.ensure_future(db.write(writer("urgent"), urgent=True))
        await asyncio.gather(first, urgent, *queued)
        assert batches == [["in progress"], ["urgent"], ["queued 0", "queued 1", "queued 2"]]
        names = await db.read(
            lambda conn: [r[0] for r in conn.raw.execute("SELECT name FROM written")]
        )
        assert names == ["in progress", "urgent", "queued 0", "queued 1", "queued 2"]
    finally:
        await db.close()


async def test_big_job_is_deleted_a_batch_of_tasks_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_deleter, "TASKS_DELETED_PER_TRANSACTION", 10)
    db = await SQLiteDatabase.open(tmp_path / "db.sqlite")
    try:
        first = new_task("first")
        # Like a render job: every later task depends on the first one.
        tasks = [first] + [new_task(f"t{n}", dependencies=[first.uuid]) for n in range(24)]
        job_id = await db.write(lambda conn: jobs.insert_job(conn, new_job(tasks)))
        other_id = await db.write(lambda conn: jobs.insert_job(conn, new_job()))
        job = await db.read(lambda conn: jobs.fetch_job_by_id(conn, job_id))
        await db.write(lambda conn: jobs.request_job_deletion(conn, job_id, T0))

        batches: list[int] = []
        delete_tasks = jobs.delete_tasks_of_job

        def recording_delete(conn: sqlite3.Connection, job_id: int, limit: int) -> int:
            deleted = delete_tasks(conn, job_id, limit)
            batches.append(deleted)
            # Whatever remains of the job keeps every dependency it had.
            kept = conn.raw.execute(
                "SELECT count(*) FROM tasks WHERE job_id = ? AND name != 'first'", (job_id,)
            ).fetchone()[0]
            links = conn.raw.execute(
                "SELECT count(*) FROM task_dependencies JOIN tasks ON tasks.id = task_id"
                " WHERE tasks.job_id = ?",
                (job_id,),
            ).fetchone()[0]
            assert links == kept
            return deleted

        monkeypatch.setattr(jobs, "delete_tasks_of_job", recording_delete)
        storage, broker = LocalStorage(tmp_path / "storage"), Broker()
        task_logs = TaskLogs(storage, broker, SystemClock())
        deleter = job_deleter.JobDeleter(db=db, storage=storage, broker=broker, task_logs=task_logs)
        await deleter.delete(job.uuid)
        assert batches == [10, 10, 5]
        remaining = await db.read(
            lambda conn: [row[0] for row in conn.raw.execute("SELECT job_id FROM tasks")]
        )
        assert set(remaining) == {other_id}
        with pytest.raises(JobNotFound):
            await db.read(lambda conn: jobs.fetch_job_by_id(conn, job_id))
    finally:
        await db.close()


async def test_stuck_jobs_are_finished_at_start_up(manager_config: config.LoadedConfig) -> None:
    # A Manager that stopped right after a job was marked cancel-requested.
    db = await persistence.open_database(manager_config.database_location, busy_timeout_ms=5_000)
    job = new_job([new_task("a"), new_task("b")], status=JobStatus.CANCEL_REQUESTED)
    await db.write(lambda conn: jobs.insert_job(conn, job))
    await db.close()

    async for running in run_manager(manager_config):
        body = (await running.client.get(f"/api/v3/jobs/{job.uuid}", expect=200)).json()
        assert body["status"] == JobStatus.CANCELED
        tasks = (await running.client.get(f"/api/v3/jobs/{job.uuid}/tasks", expect=200)).json()
        assert {task["status"] for task in tasks["tasks"]} == {TaskStatus.CANCELED}
