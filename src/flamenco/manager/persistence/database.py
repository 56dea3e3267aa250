"""The SQLite database: one writer and one reader connection, each transaction in one thread hop."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from flamenco.manager.errors import DiskFull
from flamenco.manager.persistence import backups, errors, integrity, migrate, writable
from flamenco.manager.persistence.connection import Connection, Dialect, SQLiteConnection
from flamenco.manager.persistence.databases import TransactionObserver
from flamenco.manager.persistence.integrity import IntegrityReport
from flamenco.manager.persistence.queries import load_queries

logger = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5_000
MAX_WRITES_PER_TRANSACTION = 64


class SQLiteDatabase:
    """All access to the Manager's SQLite file.

    Every write runs as one `BEGIN IMMEDIATE` transaction on the single writer
    connection; reads run in a deferred transaction on a separate connection, so
    that WAL lets them proceed while a write is in progress. Callers pass a
    synchronous function that receives the `sqlite3.Connection`; it runs in that
    connection's thread, so a whole transaction costs one hop off the event loop.
    """

    dialect = Dialect.SQLITE

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._pending_writes: list[_PendingWrite] = []
        self._urgent_writes: list[_PendingWrite] = []
        self._committer: asyncio.Task[None] | None = None
        self._observer: TransactionObserver | None = None

    @classmethod
    async def open(
        cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> SQLiteDatabase:
        """Open (creating if needed), check and migrate the database.

        Raises errors.PersistenceError (or its IntegrityError) when the file is not a
        usable database, or one the Manager could read but not write; the Manager
        then refuses to start.
        """
        writable.check_files(Path(path))
        try:
            return await cls._open(str(path), busy_timeout_ms)
        except sqlite3.DatabaseError as error:
            if _is_full(error):
                raise errors.PersistenceError(
                    f"cannot use database {path}: the disk holding it is full"
                ) from error
            raise errors.IntegrityError(
                f"cannot use database {path}: {error}", path=str(path)
            ) from error

    @classmethod
    async def _open(cls, location: str, busy_timeout_ms: int) -> SQLiteDatabase:
        writer = await _connect(location, busy_timeout_ms)
        try:
            is_new = await _run(writer, _is_empty)
            if not is_new:
                await _run(writer, _check_integrity_blocking, location)
            applied = await _run(writer, migrate.migrate_blocking)
            if applied and not is_new:
                await _run(writer, _check_integrity_blocking, location)
            await _run(writer, writable.probe_blocking, location)
            reader = await _connect(location, busy_timeout_ms)
        except BaseException:
            await writer.close()
            raise
        database = cls(location, writer, reader)
        await database.wal_checkpoint()
        return database

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    def observe_transactions(self, observer: TransactionObserver) -> None:
        self._observer = observer

    async def write(
        self,
        fn: Callable[[Connection], T],
        *,
        urgent: bool = False,
        one_statement: bool = False,
        retry: bool = False,
    ) -> T:
        """Run `fn` inside a write transaction; its changes are committed when this returns.

        Writes that arrive while another is running are grouped into one transaction
        (group commit), each in its own savepoint: an exception in `fn` undoes only
        its own changes and is raised here. That keeps a busy farm at one thread hop
        and one commit per batch instead of per request. An `urgent` write, such as
        handing a waiting Worker a task, goes into the next transaction, which holds
        only urgent writes, so it waits for at most the one already in progress.
        With one writer, transactions never race each other: `retry` changes nothing.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = _PendingWrite(fn, future)
        (self._urgent_writes if urgent else self._pending_writes).append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_pending(), name="db-group-commit")
        result: T = await future
        return result

    async def _commit_pending(self) -> None:
        while self._urgent_writes or self._pending_writes:
            # Bounded batches keep an urgent write from waiting long behind a flood.
            queue = self._urgent_writes or self._pending_writes
            batch = queue[:MAX_WRITES_PER_TRANSACTION]
            del queue[:MAX_WRITES_PER_TRANSACTION]
            started = time.perf_counter()
            try:
                outcomes = await self._run(self._writer, _run_batch, [item.fn for item in batch])
            except BaseException as error:
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            if self._observer is not None:
                # One transaction, however many writes it grouped.
                self._observer("write", time.perf_counter() - started)
            for item, (succeeded, value) in zip(batch, outcomes, strict=True):
                if item.future.done():
                    continue
                if succeeded:
                    item.future.set_result(value)
                else:
                    item.future.set_exception(value)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` inside a read transaction, so it sees one consistent snapshot."""
        if self._observer is None:
            return await self._run(self._reader, _in_transaction, fn, "BEGIN")
        started = time.perf_counter()
        result: T = await self._run(self._reader, _in_transaction, fn, "BEGIN")
        self._observer("read", time.perf_counter() - started)
        return result

    async def check_integrity(self) -> IntegrityReport:
        """Run SQLite's integrity and foreign key checks; damage is reported, not raised."""
        return await _run(self._reader, integrity.check_blocking)

    async def backup(self, folder: Path, now: dt.datetime) -> backups.Backup:
        """Copy the database into `folder` with SQLite's backup API, in a thread; check the copy.

        The Manager keeps serving meanwhile: the copy reads one snapshot on a
        connection of its own, and WAL lets the writer carry on.
        """
        return await asyncio.to_thread(backups.make_backup_blocking, Path(self.path), folder, now)

    async def wal_checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it; False when readers kept it busy."""
        busy, _, _ = await self._run(self._writer, _wal_checkpoint_blocking)
        return bool(busy == 0)

    async def _run(self, connection: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
        """_run(), with SQLite's "database or disk is full" as DiskFull naming this file."""
        try:
            return await _run(connection, fn, *args)
        except sqlite3.OperationalError as error:
            if _is_full(error):
                path = Path(self.path)
                raise DiskFull(f"the database {path}", directory=path.parent) from error
            raise


async def _connect(location: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(location, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    try:
        await _run(connection, _configure_blocking, busy_timeout_ms)
    except BaseException:
        await connection.close()
        raise
    return connection


async def _run(connection: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    # aiosqlite offers no public call to run a whole function in its thread; one
    # hop per statement would make each transaction several thread round-trips.
    try:
        result: T = await connection._execute(fn, connection._conn, *args)  # type: ignore[no-untyped-call]
        return result
    except sqlite3.OperationalError as error:
        if _is_busy(error):
            raise errors.DatabaseBusy() from error
        raise


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(error)
    return "database is locked" in message or "database is busy" in message


def _is_full(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_FULL)
    return "database or disk is full" in str(error)


def _configure_blocking(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal" and conn.execute("PRAGMA database_list").fetchone()[2]:
        raise errors.PersistenceError(f"cannot switch the database to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")
    if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
        raise errors.PersistenceError("this SQLite build cannot enforce foreign keys")


@dataclass(frozen=True, slots=True)
class _PendingWrite:
    fn: Callable[[Connection], Any]
    future: asyncio.Future[Any]


def _run_batch(
    conn: sqlite3.Connection, functions: list[Callable[[Connection], Any]]
) -> list[tuple[bool, Any]]:
    """Run each function in its own savepoint of one transaction; report each outcome."""
    outcomes: list[tuple[bool, Any]] = []
    named = SQLiteConnection(conn, load_queries(Dialect.SQLITE))
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in functions:
            conn.execute("SAVEPOINT write")
            try:
                outcomes.append((True, fn(named)))
            except Exception as error:
                if _is_full(error):
                    # SQLite may have rolled back the whole transaction already, so
                    # the writes before this one are gone too: the batch fails whole.
                    raise
                conn.execute("ROLLBACK TO write")
                outcomes.append((False, _busy_or_same(error)))
            conn.execute("RELEASE write")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return outcomes


def _busy_or_same(error: Exception) -> Exception:
    if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
        return errors.DatabaseBusy()
    return error


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[Connection], T], begin: str) -> T:
    conn.execute(begin)
    try:
        result = fn(SQLiteConnection(conn, load_queries(Dialect.SQLITE)))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _is_empty(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)


def _check_integrity_blocking(conn: sqlite3.Connection, location: str) -> None:
    report = integrity.check_blocking(conn)
    if report.misreports:
        # Migration 0003 removes the cause; until it has run, these lines are expected.
        logger.info(
            "ignoring %d known false report(s) of SQLite's integrity check, such as %r",
            len(report.misreports),
            report.misreports[0],
        )
    if not report.ok:
        raise errors.IntegrityError(
            f"database {location} is damaged: {report.summary()}", path=location, report=report
        )


def _wal_checkpoint_blocking(conn: sqlite3.Connection) -> tuple[int, int, int]:
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return (int(row[0]), int(row[1]), int(row[2]))
