"""Background services live through the machine running short of descriptors or memory."""

from __future__ import annotations

import asyncio
import errno
import sqlite3

import pytest

from flamenco.manager import app, keys
from flamenco.manager.services.timeout_checker import TimeoutChecker
from support.manager import RunningManager
from support.waiting import until

# What the timeout checker met when clients had taken every descriptor: the
# Manager then shut itself down.
SHORTAGES = [
    sqlite3.OperationalError("unable to open database file"),
    OSError(errno.EMFILE, "Too many open files"),
    MemoryError(),
]


@pytest.fixture
def failing_timeout_checker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The timeout checker fails with each shortage in turn, then runs; how often it started."""
    starts: list[int] = []

    async def run(self: TimeoutChecker) -> None:
        starts.append(len(starts))
        if len(starts) <= len(SHORTAGES):
            raise SHORTAGES[len(starts) - 1]
        await asyncio.Event().wait()

    monkeypatch.setattr(TimeoutChecker, "run", run)
    monkeypatch.setattr(app, "OUTAGE_RETRY_SECONDS", 0.05)
    return starts


async def test_service_is_started_again_after_a_shortage(
    failing_timeout_checker: list[int], manager: RunningManager
) -> None:
    await until(lambda: len(failing_timeout_checker) > len(SHORTAGES))
    assert not manager.app[keys.RESTART].ended.is_set()
    await manager.client.get("/api/v3/version", expect=200)
