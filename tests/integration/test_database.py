"""The database under stress: busy files, damaged files, and start-up recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager import config
from flamenco.manager.persistence import Database, IntegrityError, database, jobs
from support.factories import new_job, new_task
from support.manager import run_manager


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
        await Database.open(path)


async def test_failed_write_is_rolled_back_alone(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite")
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
            lambda conn: [row[0] for row in conn.execute("SELECT name FROM tasks")]
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
    db = await Database.open(tmp_path / "db.sqlite")
    try:

        def writer(name: str) -> Callable[[sqlite3.Connection], None]:
            def write(conn: sqlite3.Connection) -> None:
                conn.execute("CREATE TABLE IF NOT EXISTS written (name TEXT)")
                conn.execute("INSERT INTO written VALUES (?)", (name,))

            write.__name__ = name
            return write

        first = asyncio.ensure_future(db.write(writer("in progress")))
        await asyncio.sleep(0)  # The first transaction starts with only this write.
        queued = [asyncio.ensure_future(db.write(writer(f"queued {n}"))) for n in range(3)]
        urgent = asyncio.ensure_future(db.write(writer("urgent"), urgent=True))
        await asyncio.gather(first, urgent, *queued)
        assert batches == [["in progress"], ["urgent"], ["queued 0", "queued 1", "queued 2"]]
        names = await db.read(lambda conn: [r[0] for r in conn.execute("SELECT name FROM written")])
        assert names == ["in progress", "urgent", "queued 0", "queued 1", "queued 2"]
    finally:
        await db.close()


async def test_stuck_jobs_are_finished_at_start_up(manager_config: config.LoadedConfig) -> None:
    # A Manager that stopped right after a job was marked cancel-requested.
    db = await Database.open(manager_config.database_path)
    job = new_job([new_task("a"), new_task("b")], status=JobStatus.CANCEL_REQUESTED)
    await db.write(lambda conn: jobs.insert_job(conn, job))
    await db.close()

    async for running in run_manager(manager_config):
        body = (await running.client.get(f"/api/v3/jobs/{job.uuid}", expect=200)).json()
        assert body["status"] == JobStatus.CANCELED
        tasks = (await running.client.get(f"/api/v3/jobs/{job.uuid}/tasks", expect=200)).json()
        assert {task["status"] for task in tasks["tasks"]} == {TaskStatus.CANCELED}
