"""The connection a transaction function gets: named queries in its database's own dialect.

Services and persistence functions only see this protocol, never sqlite3 or
psycopg, so the same code runs on SQLite and PostgreSQL. Queries are named
(see queries.py); each database runs its own dialect's text of them.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from flamenco.manager.persistence import errors


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Row(Protocol):
    """A result row: by column name or by position."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


Params = Mapping[str, Any]


class Connection(Protocol):
    """What a function running inside Database.read() or .write() may do."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, query: str, params: Params | None = None, /) -> Cursor:
        """Run the named query with named parameters."""
        ...

    def executemany(self, query: str, params: Iterable[Params], /) -> None:
        """Run the named query once per set of parameters."""
        ...


class SQLiteConnection:
    """Connection over sqlite3: a name lookup, then sqlite3's own execute."""

    __slots__ = ("_sql", "raw")

    def __init__(self, raw: sqlite3.Connection, sql: Mapping[str, str]) -> None:
        self.raw = raw
        self._sql = sql

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    def execute(self, query: str, params: Params | None = None, /) -> sqlite3.Cursor:
        try:
            return self.raw.execute(self._sql[query], params or {})
        except sqlite3.IntegrityError as error:
            raise _unique_or_same(error) from error

    def executemany(self, query: str, params: Iterable[Params], /) -> None:
        try:
            self.raw.executemany(self._sql[query], params)
        except sqlite3.IntegrityError as error:
            raise _unique_or_same(error) from error


def _unique_or_same(error: sqlite3.IntegrityError) -> Exception:
    if "UNIQUE constraint failed" in str(error):
        return errors.UniqueViolation(str(error))
    return error
