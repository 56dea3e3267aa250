"""Online database backups: scheduled while the farm works, checked, pruned; and restoring one."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.persistence import backups
from flamenco.manager.services.farm_status import FarmStatusService
from support.database_files import run_manager_cli
from support.fakes import FakeClock
from support.jobs import submit_echo_sleep
from support.manager import run_manager
from support.manager_process import ManagerProcess


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


async def _advance_until(
    clock: FakeClock, condition: Callable[[], bool], first: dt.timedelta, timeout: float = 15
) -> None:
    """Move the clock on until `condition` holds: a minute at a time after the `first` step,
    since the service may not have started waiting yet when the clock first moves."""
    clock.advance(first)
    async with asyncio.timeout(timeout):
        while True:
            for _ in range(10):
                await asyncio.sleep(0.02)
                if condition():
                    return
            clock.advance(dt.timedelta(minutes=1))


def _job_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        return {row[0] for row in conn.execute("SELECT name FROM jobs")}
    finally:
        conn.close()


async def test_scheduled_backups_are_checked_copies_kept_to_a_count(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config(database_backup_period="1h", database_backup_keep=2)
    folder = loaded.database_backup_path
    assert folder == loaded.database_path.with_name("flamenco-manager-backups")
    clock = FakeClock()

    def made() -> list[backups.Backup]:
        return backups.list_backups(folder, loaded.database_path)

    async for running in run_manager(loaded, clock=clock):
        await submit_echo_sleep(running.client, name="first")
        await _advance_until(clock, lambda: len(made()) == 1, backups.FIRST_BACKUP_DELAY)
        assert re.fullmatch(r"flamenco-manager-20260102-\d{6}\.sqlite", made()[0].path.name)
        assert _job_names(made()[0].path) == {"first"}

        for number in range(2):
            await submit_echo_sleep(running.client, name=f"later {number}")
            previous = made()[-1].made_at
            await _advance_until(
                clock, lambda p=previous: made()[-1].made_at > p, dt.timedelta(hours=1)
            )
        kept = made()
        assert len(kept) == 2, "the oldest backup is removed"
        assert _job_names(kept[-1].path) == {"first", "later 0", "later 1"}
        assert not list(folder.glob("*.partial"))
        # Backups never stopped the farm from answering.
        assert (await running.client.get("/api/v3/status", expect=200)).json()["status"]


async def test_schedule_counts_from_the_newest_backup_across_restarts(tmp_path: Path) -> None:
    database = tmp_path / "flamenco-manager.sqlite"
    folder = tmp_path / "backups"
    folder.mkdir()
    clock = FakeClock()
    newest = clock.now() - dt.timedelta(minutes=30)
    (folder / f"flamenco-manager-{newest:%Y%m%d-%H%M%S}.sqlite").write_bytes(b"")
    calls: list[dt.datetime] = []
    called = asyncio.Event()

    async def fake_backup(target: Path, now: dt.datetime) -> backups.Backup:
        calls.append(now)
        called.set()
        return backups.Backup(target / "x.sqlite", now, 0)

    settings = backups.BackupSettings(folder=folder, period=dt.timedelta(hours=1), keep=7)
    runner = asyncio.create_task(
        backups.run_backups(
            fake_backup, database, settings, clock, on_success=lambda *_: None, on_failure=print
        )
    )
    try:
        await asyncio.sleep(0.05)
        clock.advance(dt.timedelta(minutes=29))
        await asyncio.sleep(0.05)
        assert calls == [], "the newest backup is only 59 minutes old"
        clock.advance(dt.timedelta(minutes=2))
        await asyncio.wait_for(called.wait(), 5)
        assert calls == [newest + dt.timedelta(minutes=61)]
    finally:
        runner.cancel()


async def test_failed_backup_raises_an_alarm(make_manager_config: ConfigMaker) -> None:
    blocker = make_manager_config().config_dir / "not-a-folder"
    blocker.write_text("a file where the backup folder should be", encoding="utf-8")
    loaded = make_manager_config(database_backup_path="not-a-folder/backups")
    clock = FakeClock()
    async for running in run_manager(loaded, clock=clock):
        farm_status = running.app[keys.FARM_STATUS]

        def alarmed(farm_status: FarmStatusService = farm_status) -> bool:
            return bool(farm_status.alarms)

        await _advance_until(clock, alarmed, backups.FIRST_BACKUP_DELAY)
        report = (await running.client.get("/api/v3/status", expect=200)).json()
        [alarm] = report["alarms"]
        assert alarm["kind"] == "database-backup"
        assert "not-a-folder/backups" in alarm["message"]


async def test_manual_backup_while_running_and_the_documented_restore(tmp_path: Path) -> None:
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
    await manager.start()
    try:
        async with aiohttp.ClientSession() as session:
            client_url = manager.base_url + "/api/v3/jobs"
            for name in ("kept 1", "kept 2"):
                async with session.post(client_url, json=_echo_job(name)) as reply:
                    assert reply.status == 200
            made = run_manager_cli("--backup-database", cwd=manager.directory)
            assert made.returncode == 0, made.stdout + made.stderr
            assert "checked" in made.stdout
            async with session.post(client_url, json=_echo_job("after the backup")) as reply:
                assert reply.status == 200
    finally:
        assert await manager.stop() == 0

    # docs/database.md, "Restoring a backup", step by step.
    directory = manager.directory
    database = directory / "flamenco-manager.sqlite"
    [backup] = sorted((directory / "flamenco-manager-backups").glob("*.sqlite"))
    set_aside = directory / "before-restore"
    set_aside.mkdir()
    for path in directory.glob("flamenco-manager.sqlite*"):
        shutil.move(path, set_aside / path.name)
    shutil.copyfile(backup, database)
    checked = run_manager_cli("--check-database", cwd=directory)
    assert checked.returncode == 0, checked.stdout
    await manager.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(manager.base_url + "/api/v3/jobs") as reply,
        ):
            names = {job["name"] for job in (await reply.json())["jobs"]}
        assert names == {"kept 1", "kept 2"}
    finally:
        await manager.stop()


def _echo_job(name: str) -> dict[str, object]:
    return {
        "name": name,
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }
