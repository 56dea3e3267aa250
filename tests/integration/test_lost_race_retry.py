"""On PostgreSQL, a write that may run again survives losing a deadlock; others answer busy."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from flamenco.manager.persistence import Connection, errors
from flamenco.manager.persistence.postgresql import PostgresDatabase
from support.postgresql import fresh_schema


@pytest.fixture
async def counters_db() -> AsyncIterator[PostgresDatabase]:
    with fresh_schema() as url:
        db = await PostgresDatabase.open(url)
        await db.write(_create_counters)
        try:
            yield db
        finally:
            await db.close()


def _create_counters(conn: Connection) -> None:
    raw: Any = conn.raw  # type: ignore[attr-defined]
    raw.execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    raw.execute("INSERT INTO counters VALUES (1, 0), (2, 0)")


def _crossing(first: int, second: int, met: threading.Barrier) -> Callable[[Connection], int]:
    """A transaction that locks one counter, waits for its twin to lock the other, then
    locks that one too: the two wait for each other, and PostgreSQL fails one."""
    tries = 0

    def transaction(conn: Connection) -> int:
        nonlocal tries
        tries += 1
        raw: Any = conn.raw  # type: ignore[attr-defined]
        raw.execute("SET LOCAL deadlock_timeout = '50ms'")  # Found sooner than after 1 s.
        raw.execute("UPDATE counters SET n = n + 1 WHERE id = %s", (first,))
        if tries == 1:
            met.wait(timeout=10)
        raw.execute("UPDATE counters SET n = n + 1 WHERE id = %s", (second,))
        return tries

    return transaction


def _counts(conn: Connection) -> list[int]:
    raw: Any = conn.raw  # type: ignore[attr-defined]
    return [row[0] for row in raw.execute("SELECT n FROM counters ORDER BY id")]


async def test_a_write_that_may_run_again_does_after_losing_a_deadlock(
    counters_db: PostgresDatabase,
) -> None:
    met = threading.Barrier(2)
    tries = await asyncio.gather(
        counters_db.write(_crossing(1, 2, met), retry=True),
        counters_db.write(_crossing(2, 1, met), retry=True),
    )
    assert sorted(tries) == [1, 2]  # The loser ran once more.
    assert await counters_db.read(_counts) == [2, 2]  # Each committed once.


async def test_other_writes_answer_busy_after_losing_a_deadlock(
    counters_db: PostgresDatabase,
) -> None:
    met = threading.Barrier(2)
    outcomes = await asyncio.gather(
        counters_db.write(_crossing(1, 2, met)),
        counters_db.write(_crossing(2, 1, met)),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["LostRace", "int"]
    assert isinstance(next(o for o in outcomes if isinstance(o, Exception)), errors.DatabaseBusy)
    assert await counters_db.read(_counts) == [1, 1]  # The loser's changes were undone.
