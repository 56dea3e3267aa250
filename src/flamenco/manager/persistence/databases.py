"""The database as services see it, whichever it is, and opening one by its location."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from flamenco.manager.persistence.connection import Connection, Dialect
from flamenco.manager.persistence.integrity import IntegrityReport

T = TypeVar("T")

# Told the kind ("read" or "write") and the seconds of each transaction (metrics).
TransactionObserver = Callable[[str, float], None]


class Database(Protocol):
    """SQLite or PostgreSQL: transactions of synchronous functions over a Connection."""

    @property
    def dialect(self) -> Dialect: ...

    async def write(
        self,
        fn: Callable[[Connection], T],
        *,
        urgent: bool = False,
        one_statement: bool = False,
        retry: bool = False,
    ) -> T:
        """Run `fn` in a write transaction; its changes are committed when this returns.

        An `urgent` write (handing a waiting Worker a task) does not queue behind others.
        `one_statement` promises that `fn` changes the database in one statement at most,
        which needs no transaction of its own where each write has one (PostgreSQL).
        `retry` promises that `fn` may run again from the start, as it changes nothing
        but the database: where transactions run side by side (PostgreSQL), one that
        lost a race with another (a deadlock) then runs again, a few times at most,
        before errors.LostRace is raised.
        """
        ...

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in a read transaction that sees one consistent snapshot."""
        ...

    async def check_integrity(self) -> IntegrityReport:
        """What the database's own checks find; damage is reported, not raised."""
        ...

    async def close(self) -> None: ...

    def observe_transactions(self, observer: TransactionObserver) -> None:
        """Tell `observer` how long each transaction takes from now on."""
        ...


async def open_database(location: str | Path, *, busy_timeout_ms: int) -> Database:
    """A URL (str) opens PostgreSQL; a Path, an SQLite file (LoadedConfig.database_location)."""
    from flamenco.manager.persistence.database import SQLiteDatabase
    from flamenco.manager.persistence.postgresql import PostgresDatabase

    if isinstance(location, str):
        return await PostgresDatabase.open(location)
    return await SQLiteDatabase.open(location, busy_timeout_ms=busy_timeout_ms)
