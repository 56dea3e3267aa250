"""A database the Manager could read but not write stops it at start-up, saying which and why."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flamenco.manager.persistence import errors, writable
from support.manager_process import ManagerProcess
from support.tmpfs import mounted_tmpfs, remount


def test_probe_refuses_a_connection_sqlite_opened_read_only(tmp_path: Path) -> None:
    """The last check, for what permissions allow but SQLite still refuses."""
    database = tmp_path / "farm.sqlite"
    sqlite3.connect(database).close()
    read_only = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        with pytest.raises(
            errors.DatabaseNotWritable, match=f"cannot write the database {database}"
        ):
            writable.probe_blocking(read_only, str(database))
        assert not read_only.in_transaction
    finally:
        read_only.close()


def test_probe_leaves_a_writable_database_as_it_was(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "farm.sqlite", isolation_level=None)
    try:
        conn.execute("PRAGMA user_version = 7")
        writable.probe_blocking(conn, "farm.sqlite")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 7
        assert not conn.in_transaction
    finally:
        conn.close()


@pytest.mark.slow
async def test_manager_refuses_to_start_on_a_read_only_database(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "disk") as disk:
        database = disk / "flamenco-manager.sqlite"
        process = ManagerProcess(tmp_path / "manager", tmp_path / "shared", database=str(database))

        remount(disk, "ro")
        code, said = await _start_and_fail(process)
        assert code == 1
        assert (
            f"cannot write in {disk}, the directory of the database {database}: "
            "it is on a read-only file system" in said
        )

        remount(disk, "rw")
        await process.start()
        assert await process.stop() == 0
        remount(disk, "ro")
        code, said = await _start_and_fail(process)
        assert code == 1
        assert (
            f"cannot write the database file {database}: it is on a read-only file system" in said
        )


async def _start_and_fail(process: ManagerProcess) -> tuple[int, str]:
    """Start the Manager, expecting it to stop by itself; its exit code and error output."""
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "flamenco.manager", "--config", str(process.config_path)],
        cwd=process.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return ran.returncode, ran.stderr
