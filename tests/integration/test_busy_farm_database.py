"""A busy farm's database passes SQLite's own checks, and the Manager restarts on it."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import ConfigMaker
from flamenco.manager.services import job_deleter
from support.busy_farm import (
    BUSY_FARM_SETTINGS,
    FARM_TABLES,
    never_delete_jobs,
    run_a_busy_farm,
    wait_for_status,
)
from support.manager import run_manager


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


async def test_busy_farm_passes_sqlite_checks_and_restarts(
    make_manager_config: ConfigMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = make_manager_config(**BUSY_FARM_SETTINGS)
    with monkeypatch.context() as patched:
        patched.setattr(job_deleter.JobDeleter, "run", never_delete_jobs)
        async for running in run_manager(loaded):
            farm = await run_a_busy_farm(running)

    conn = sqlite3.connect(loaded.database_path)
    try:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in FARM_TABLES
        }
        assert {table for table, count in counts.items() if count == 0} == set()
        assert conn.execute(
            "SELECT count(*) FROM jobs WHERE delete_requested_at IS NOT NULL"
        ).fetchone() == (1,)
        # SQLite's own checks, word for word: on Debian 12's SQLite 3.40 these
        # misreported task_failures rows before migration 0003.
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()

    # The same files, a new Manager: everything is still there, and the
    # interrupted deletion is finished.
    async for running in run_manager(loaded):
        client = running.client
        await client.get(f"/api/v3/jobs/{farm.job}", expect=200)
        blocklist = (await client.get(f"/api/v3/jobs/{farm.job}/blocklist", expect=200)).json()
        assert [entry["worker_name"] for entry in blocklist] == ["flaky"]
        await client.get(f"/api/v3/jobs/{farm.job}/last-rendered", expect=200)
        tags = (await client.get("/api/v3/worker-mgt/tags", expect=200)).json()["tags"]
        assert [tag["id"] for tag in tags] == [farm.tag]
        await client.get(
            f"/api/v3/worker-mgt/workers/{farm.sleepy.uuid}/sleep-schedule", expect=200
        )
        await wait_for_status(running, f"/api/v3/jobs/{farm.doomed}", 404)
        assert (await client.get("/api/v3/status", expect=200)).json().get("alarms") is None
