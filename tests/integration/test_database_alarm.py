"""A failed periodic database check raises a loud farm-wide alarm; the Manager keeps serving."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from conftest import ConfigMaker
from flamenco.api.enums import AlarmKind
from flamenco.manager import keys
from flamenco.manager.eventbus.broker import Event, EventKind
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.waiting import farm_status_when


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


ORPHAN = "INSERT INTO task_failures (task_id, worker_id, created_at) VALUES (99999, 99999, 'x')"


async def test_failed_check_raises_an_alarm_until_a_check_passes(
    make_manager_config: ConfigMaker, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = make_manager_config(database_check_period="100ms", database_backup_period="0s")
    async for running in run_manager(loaded):
        published: list[Event] = []
        running.app[keys.BROKER].subscribe(published.append)
        await submit_echo_sleep(running.client)
        before = (await running.client.get("/api/v3/status", expect=200)).json()
        assert "alarms" not in before, "upstream's report, unchanged, while all is well"

        # Real damage the check finds: a row that refers to rows that do not exist,
        # written by another program (foreign keys are off by default there).
        outside = sqlite3.connect(loaded.database_path, isolation_level=None)
        try:
            outside.execute(ORPHAN)
            with caplog.at_level(logging.CRITICAL):
                report = await farm_status_when(running.client, lambda r: r.get("alarms"))
            [alarm] = report["alarms"]
            assert alarm["kind"] == "database-integrity"
            assert "foreign key violation" in alarm["message"]
            assert "--check-database" in alarm["message"]
            assert "--recover-database" in alarm["message"]
            assert any(
                record.levelno == logging.CRITICAL and "DATABASE CHECK FAILED" in record.message
                for record in caplog.records
            )
            assert _alarm_events(published), "the alarm reaches live clients as a farm status"

            # The Manager keeps serving: the farm goes on while an operator decides.
            await asyncio.sleep(0.3)
            assert not running.app[keys.RESTART].ended.is_set()
            await submit_echo_sleep(running.client, name="still accepted")

            outside.execute("DELETE FROM task_failures WHERE task_id = 99999")
        finally:
            outside.close()
        cleared = await farm_status_when(running.client, lambda r: "alarms" not in r)
        assert cleared["status"]
        assert not _alarm_events(published[-1:]), "the all-clear is broadcast too"


def _alarm_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind is EventKind.FARM_STATUS and e.payload.get("alarms")]


async def test_alarm_survives_report_rewording_and_keeps_its_start(
    manager: RunningManager,
) -> None:
    farm_status = manager.app[keys.FARM_STATUS]
    farm_status.raise_alarm(AlarmKind.DATABASE_BACKUP, "first")
    since = farm_status.alarms[0].since
    farm_status.raise_alarm(AlarmKind.DATABASE_BACKUP, "second")
    assert [(a.message, a.since) for a in farm_status.alarms] == [("second", since)]
    body = (await manager.client.get("/api/v3/status", expect=200)).json()
    assert body["alarms"][0]["kind"] == "database-backup"
    farm_status.clear_alarm(AlarmKind.DATABASE_BACKUP)
    assert "alarms" not in (await manager.client.get("/api/v3/status", expect=200)).json()
