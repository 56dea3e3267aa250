"""A damaged database never leaves a studio stuck: a clear refusal, a check, a recovery."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from conftest import ConfigMaker
from flamenco.manager import config
from flamenco.manager.persistence import migrate, recovery
from flamenco.manager.persistence.database import SQLiteDatabase
from support.database_files import (
    files_in,
    fill_every_table,
    leaf_pages,
    migrated,
    overwrite_pages,
    run_manager_cli,
)
from support.jobs import submit_echo_sleep
from support.manager import run_manager
from support.worker_session import WorkerSession


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


JOBS = 20
TASKS_PER_JOB = 7  # echo-sleep with 6 repeats: one echo task, six sleep tasks.


async def _populate(loaded: config.LoadedConfig) -> None:
    """A farm with jobs, a Worker and a failed task, made through the API; then stopped."""
    async for running in run_manager(loaded):
        worker = WorkerSession(running.client)
        await worker.start()
        for number in range(JOBS):
            await submit_echo_sleep(running.client, name=f"job {number}", repeats=TASKS_PER_JOB - 1)
        task = await worker.next_task()
        await worker.update(task["uuid"], taskStatus="failed", activity="Failed")


def _damage_tasks(path: Path) -> int:
    """Overwrite two leaf pages in the middle of the tasks table; return the rows they held."""
    leaves = leaf_pages(path, "tasks")
    assert len(leaves) >= 6, "too few task pages to damage some in the middle"
    middle = leaves[len(leaves) // 2 : len(leaves) // 2 + 2]
    overwrite_pages(path, [page for page, _ in middle])
    return sum(cells for _, cells in middle)


@pytest.fixture
def loaded(make_manager_config: ConfigMaker) -> config.LoadedConfig:
    return make_manager_config(database_backup_period="0s")


async def test_damaged_database_is_refused_checked_recovered_and_serves_again(
    loaded: config.LoadedConfig,
) -> None:
    await _populate(loaded)
    database = loaded.database_path
    folder = database.parent
    _damage_tasks(database)
    damaged = database.read_bytes()

    started = run_manager_cli("--config", str(loaded.path), cwd=folder)
    assert started.returncode == 1
    assert f"the database {database} is damaged" in started.stderr
    assert "Integrity check: FAILED" in started.stderr
    assert "--check-database" in started.stderr and "--recover-database" in started.stderr
    assert "Traceback" not in started.stderr

    before = files_in(folder)
    checked = run_manager_cli("--config", str(loaded.path), "--check-database", cwd=folder)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "Integrity check: FAILED" in checked.stdout
    assert "The database is DAMAGED" in checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr
    assert files_in(folder) == before, "--check-database must not change anything"

    recovered = run_manager_cli("--config", str(loaded.path), "--recover-database", cwd=folder)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "Traceback" not in recovered.stdout + recovered.stderr
    assert f"Recovered with copying every row that can be read: {JOBS} jobs" in recovered.stdout
    copies = list(folder.glob(f"{database.name}.damaged-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == damaged
    assert not list(folder.glob(".recovering-*")), "the working folder is cleaned up"

    checked = run_manager_cli("--config", str(loaded.path), "--check-database", cwd=folder)
    assert checked.returncode == 0, checked.stdout
    assert "The database is fine." in checked.stdout

    async for running in run_manager(loaded):
        listed = (await running.client.get("/api/v3/jobs", expect=200)).json()["jobs"]
        assert len(listed) == JOBS
        tasks = await running.client.get(f"/api/v3/jobs/{listed[0]['id']}/tasks", expect=200)
        assert tasks.json()["tasks"]


async def test_row_copy_keeps_every_row_outside_the_damaged_pages(
    loaded: config.LoadedConfig,
) -> None:
    await _populate(loaded)
    database = loaded.database_path
    lost = _damage_tasks(database)
    database.chmod(0o600)
    steps: list[str] = []
    result = recovery.recover_blocking(
        database, dt.datetime.now(dt.UTC), shell=None, progress=steps.append
    )
    assert result.method == "copying every row that can be read"
    assert "rebuilding with VACUUM INTO ..." in steps
    assert result.row_counts["jobs"] == JOBS
    assert result.row_counts["tasks"] == JOBS * TASKS_PER_JOB - lost
    assert result.report.ok
    assert stat.S_IMODE(database.stat().st_mode) == 0o600, "as private as the damaged file"
    # Dependencies on the lost tasks went with them; nothing refers to a missing row.
    conn = sqlite3.connect(database)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


async def test_sqlite_shell_that_cannot_recover_is_passed_over(
    loaded: config.LoadedConfig,
) -> None:
    shell = shutil.which("sqlite3")
    if shell is None:
        pytest.skip("the sqlite3 shell is not installed (Debian: apt install sqlite3)")
    await _populate(loaded)
    _damage_tasks(loaded.database_path)
    steps: list[str] = []
    result = recovery.recover_blocking(
        loaded.database_path, dt.datetime.now(dt.UTC), shell=shell, progress=steps.append
    )
    assert "rebuilding with the sqlite3 shell's .recover ..." in steps
    # Debian 12's shell lacks sqlite_dbpage and fails; a newer one does the job itself.
    assert result.method in {"the sqlite3 shell's .recover", "copying every row that can be read"}
    assert result.row_counts["jobs"] == JOBS


def _old_schema_with_task_failures(path: Path) -> None:
    conn = migrated(path, up_to=2)
    fill_every_table(conn)
    conn.close()


def test_old_schema_misreport_is_explained_not_called_damage(tmp_path: Path) -> None:
    (tmp_path / "flamenco-manager.yaml").write_text(
        "_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: .\n", encoding="utf-8"
    )
    _old_schema_with_task_failures(tmp_path / "flamenco-manager.sqlite")

    checked = run_manager_cli("--check-database", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    latest = migrate.available_migrations()[-1].version
    assert (
        f"Schema version: 2 (this Manager upgrades it to {latest} when it starts)" in checked.stdout
    )
    if sqlite3.sqlite_version_info[:2] == (3, 40):
        assert "'NULL value in task_failures.created_at'" in checked.stdout
        assert "known false report" in checked.stdout

    recovered = run_manager_cli("--recover-database", cwd=tmp_path)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "Recovered with VACUUM INTO" in recovered.stdout
    checked = run_manager_cli("--check-database", cwd=tmp_path)
    assert f"Schema version: {latest} (up to date)" in checked.stdout
    assert "false report" not in checked.stdout


async def test_manager_starts_on_an_old_schema_that_sqlite_misreports(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _old_schema_with_task_failures(path)
    db = await SQLiteDatabase.open(path)
    try:
        report = await db.check_integrity()
        latest = migrate.available_migrations()[-1].version
        assert report.ok and report.schema_version == latest and not report.misreports
        rows = await db.read(
            lambda conn: conn.raw.execute("SELECT * FROM task_failures").fetchall()
        )
        assert len(rows) == 1
    finally:
        await db.close()


async def test_recovery_refuses_while_a_manager_uses_the_database(
    loaded: config.LoadedConfig,
) -> None:
    async for running in run_manager(loaded):
        await submit_echo_sleep(running.client)
        folder = loaded.database_path.parent
        before = sorted(entry.name for entry in folder.iterdir())
        result = run_manager_cli("--config", str(loaded.path), "--recover-database", cwd=folder)
        assert result.returncode == 1
        assert "is in use by another program, probably a running Manager" in result.stderr
        assert "left as it was" in result.stderr
        assert sorted(entry.name for entry in folder.iterdir()) == before
        # Checking is fine while it runs.
        checked = run_manager_cli("--config", str(loaded.path), "--check-database", cwd=folder)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_check_without_a_database_says_so(tmp_path: Path) -> None:
    (tmp_path / "flamenco-manager.yaml").write_text("_meta:\n  version: 3\n", encoding="utf-8")
    result = run_manager_cli("--check-database", cwd=tmp_path)
    assert result.returncode == 2
    assert "there is no database at" in result.stderr
    assert not (tmp_path / "flamenco-manager.sqlite").exists()


def test_file_that_is_no_database_cannot_be_recovered_and_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "flamenco-manager.yaml").write_text("_meta:\n  version: 3\n", encoding="utf-8")
    garbage = b"this is not a database at all" * 200
    (tmp_path / "flamenco-manager.sqlite").write_bytes(garbage)
    checked = run_manager_cli("--check-database", cwd=tmp_path)
    assert checked.returncode == 1
    assert "file is not a database" in checked.stdout
    result = run_manager_cli("--recover-database", cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot recover the database" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "flamenco-manager.sqlite").read_bytes() == garbage
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [
        "flamenco-manager.sqlite",
        "flamenco-manager.yaml",
    ]
