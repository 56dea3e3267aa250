"""The PostgreSQL database: psycopg connections in threads, each transaction in one thread hop.

Several Manager processes can share one such database. In each process, a
transaction function runs whole in one of a few threads that each own a
connection, as on SQLite, so that the same synchronous persistence code serves
both databases. That is why the driver is psycopg 3: asyncpg costs less CPU per
statement (benchmarks/bench_pg_drivers.py measures both on our queries) but would
need every persistence function written again as a coroutine. Writes that must
not queue behind a flood (handing a Worker a task) have threads of their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg.rows import RowMaker

from flamenco.manager.errors import DiskFull
from flamenco.manager.persistence import errors
from flamenco.manager.persistence.connection import Connection, Dialect, Params
from flamenco.manager.persistence.databases import TransactionObserver
from flamenco.manager.persistence.integrity import IntegrityReport
from flamenco.manager.persistence.postgresql_migrate import (
    available_migrations,
    current_version,
    migrate_blocking,
    schema_problem,
)
from flamenco.manager.persistence.queries import load_queries

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Enough for a busy process without crowding the server: a PostgreSQL server
# allows 100 connections by default, which four processes then share.
CONNECTIONS = 8
URGENT_CONNECTIONS = 2
# How long connecting may take before a request answers 503 instead.
CONNECT_TIMEOUT_SECONDS = 3
# How often a write that may run again is tried when it keeps losing races to others.
ATTEMPTS_AGAINST_LOST_RACES = 3
# The longest pause before the next try, times the try's number: random, so that two
# transactions that deadlocked do not meet again at once.
PAUSE_AFTER_LOST_RACE_SECONDS = 0.01


class PostgresRow:
    """A result row that answers by column name and by position, as sqlite3.Row does."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: tuple[Any, ...], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> Iterable[str]:
        return self._index.keys()


class _RowsOfOneQuery:
    """The row factory of one named query, which reads the result's columns only once.

    psycopg asks a row factory for each statement's result; making the name index
    from cursor.description each time cost more than the rest of a short statement.
    A named query's columns never change while the Manager runs.
    """

    __slots__ = ("_make",)

    def __init__(self) -> None:
        self._make: RowMaker[PostgresRow] | None = None

    def __call__(self, cursor: psycopg.Cursor[Any]) -> RowMaker[PostgresRow]:
        if self._make is None:
            index = {column.name: n for n, column in enumerate(cursor.description or ())}

            def make(values: Any) -> PostgresRow:
                return PostgresRow(tuple(values), index)

            self._make = make
        return self._make


class PostgresConnection:
    """Connection over psycopg: named queries, unique violations as UniqueViolation."""

    __slots__ = ("_rows", "_sql", "raw")

    def __init__(
        self,
        raw: psycopg.Connection[Any],
        sql: Mapping[str, str],
        rows: Mapping[str, _RowsOfOneQuery],
    ) -> None:
        self.raw = raw
        self._sql = sql
        self._rows = rows

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRESQL

    def execute(self, query: str, params: Params | None = None, /) -> psycopg.Cursor[PostgresRow]:
        try:
            cursor = self.raw.cursor(row_factory=self._rows[query])
            return cursor.execute(self._sql[query], params or {})
        except psycopg.errors.UniqueViolation as error:
            raise errors.UniqueViolation(str(error)) from error

    def executemany(self, query: str, params: Iterable[Params], /) -> None:
        try:
            with self.raw.cursor(row_factory=self._rows[query]) as cursor:
                cursor.executemany(self._sql[query], params)
        except psycopg.errors.UniqueViolation as error:
            raise errors.UniqueViolation(str(error)) from error


class _ConnectionThreads:
    """Threads that each own one connection and run whole transactions on it.

    A connection that breaks (the server restarted, the network dropped) is
    dropped and a new one made for the next transaction, so the Manager
    reconnects by itself; meanwhile requests answer 503. One that the server
    closed while it sat idle is made again before it is used.
    """

    def __init__(self, url: str, size: int, name: str, sql: Mapping[str, str]) -> None:
        self._url = url
        self._sql = sql
        self._rows = {name: _RowsOfOneQuery() for name in sql}
        self._executor = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix=name)
        self._local = threading.local()
        self._all: set[psycopg.Connection[Any]] = set()
        self._all_lock = threading.Lock()
        self.observer: TransactionObserver | None = None

    async def run(
        self, fn: Callable[[Connection], T], *, read_only: bool, one_statement: bool = False
    ) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._transaction, fn, read_only, one_statement
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    def _connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            if not _closed_by_server(conn):
                return conn
            self._forget(conn)
        conn = psycopg.connect(
            self._url,
            # Transactions are begun explicitly, so that one statement can go without.
            autocommit=True,
            prepare_threshold=2,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self._local.conn = conn
        with self._all_lock:
            self._all.add(conn)
        return conn

    def _forget(self, conn: psycopg.Connection[Any]) -> None:
        self._local.conn = None
        with self._all_lock:
            self._all.discard(conn)
        conn.close()

    def _transaction(
        self, fn: Callable[[Connection], T], read_only: bool, one_statement: bool
    ) -> T:
        conn: psycopg.Connection[Any] | None = None
        started = time.perf_counter()
        try:
            conn = self._connection()
            if one_statement:
                # One statement is atomic by itself: no BEGIN and COMMIT round trips.
                result = fn(PostgresConnection(conn, self._sql, self._rows))
            else:
                with conn.transaction():
                    if read_only:
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    result = fn(PostgresConnection(conn, self._sql, self._rows))
            if self.observer is not None:
                self.observer("read" if read_only else "write", time.perf_counter() - started)
            return result
        except (
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.LockNotAvailable,
        ) as error:
            logger.info(
                "transaction lost a race, the client may retry", extra={"error": str(error)}
            )
            raise errors.LostRace() from error
        except psycopg.errors.DiskFull as error:
            # SQLSTATE 53100: the server's disk, not the connection; keep the connection.
            raise DiskFull(f"the database {redact(self._url)}") from error
        except psycopg.OperationalError as error:
            if conn is not None:
                self._forget(conn)
            logger.warning("database unavailable", extra={"error": str(error)})
            raise errors.DatabaseUnavailable() from error


def _closed_by_server(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server has said goodbye to this idle connection, or gone.

    A restarted server closes every connection, but a connection hears of it only
    when used. Between transactions the server sends nothing, so a socket with
    something to read means a farewell message or the end of the stream: used, that
    connection would fail one more request after the server is back.
    """
    # poll(), not select(): a busy Manager holds thousands of Workers' sockets, and
    # select() refuses descriptors past 1023.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class PostgresDatabase:
    """All access to a PostgreSQL database, shared with other Manager processes."""

    dialect = Dialect.POSTGRESQL

    def __init__(self, url: str, *, connections: int = CONNECTIONS) -> None:
        self.url = url
        sql = load_queries(Dialect.POSTGRESQL)
        self._threads = _ConnectionThreads(url, connections, "postgresql", sql)
        self._urgent_threads = _ConnectionThreads(url, URGENT_CONNECTIONS, "postgresql-urgent", sql)

    @classmethod
    async def open(cls, url: str, *, connections: int = CONNECTIONS) -> PostgresDatabase:
        """Connect, and migrate the schema (one process at a time).

        Raises errors.PersistenceError naming the problem when the server cannot
        be reached or refuses us.
        """
        try:
            await asyncio.to_thread(_migrate, url)
        except psycopg.Error as error:
            raise errors.PersistenceError(f"cannot use database {redact(url)}: {error}") from error
        return cls(url, connections=connections)

    async def close(self) -> None:
        await asyncio.to_thread(self._threads.close)
        await asyncio.to_thread(self._urgent_threads.close)

    def observe_transactions(self, observer: TransactionObserver) -> None:
        self._threads.observer = observer
        self._urgent_threads.observer = observer

    async def write(
        self,
        fn: Callable[[Connection], T],
        *,
        urgent: bool = False,
        one_statement: bool = False,
        retry: bool = False,
    ) -> T:
        """Run `fn` in a transaction of its own; its changes are committed when this returns."""
        threads = self._urgent_threads if urgent else self._threads
        attempt = 1
        while True:
            try:
                return await threads.run(fn, read_only=False, one_statement=one_statement)
            except errors.LostRace:
                if not retry or attempt >= ATTEMPTS_AGAINST_LOST_RACES:
                    raise
            await asyncio.sleep(random.uniform(0, PAUSE_AFTER_LOST_RACE_SECONDS * attempt))
            attempt += 1

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in a read-only transaction that sees one consistent snapshot."""
        return await self._threads.run(fn, read_only=True)

    async def check_integrity(self) -> IntegrityReport:
        """PostgreSQL keeps its own files whole; this checks that it answers, with our schema."""
        return await self._threads.run(_check_schema, read_only=True)


def _migrate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        applied = migrate_blocking(conn)
        for name in applied:
            logger.info("applied database migration %s", name)


def _check_schema(conn: Connection) -> IntegrityReport:
    assert isinstance(conn, PostgresConnection)
    problem = schema_problem(conn.raw)
    version = current_version(conn.raw)
    return IntegrityReport(
        problems=(problem,) if problem else (),
        misreports=(),
        foreign_key_violations=(),
        foreign_key_violation_count=0,
        schema_version=version,
        latest_schema_version=len(available_migrations()),
    )


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.get("host", "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"


class FarmLock:
    """A PostgreSQL advisory lock, held on a connection of its own while this process leads.

    The server releases it the moment that connection goes, so when the leading
    process dies, another one can take over at its next try.
    """

    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._name = name
        self._conn: psycopg.Connection[Any] | None = None
        # A cancelled caller leaves its thread running; the next call waits for it.
        self._busy = threading.Lock()

    def try_acquire_blocking(self) -> bool:
        """Take the lock if nobody holds it; False when another process does, or on errors."""
        with self._busy:
            return self._try_acquire()

    def _try_acquire(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(current_schema() || '/' || %s))",
                (self._name,),
            ).fetchone()
            return bool(row and row[0])
        except psycopg.Error:
            self._release()
            return False

    def still_held_blocking(self) -> bool:
        """Whether the lock's connection still works, so that the lock is still ours."""
        with self._busy:
            if self._conn is None or self._conn.closed:
                return False
            try:
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                self._release()
                return False

    def release_blocking(self) -> None:
        with self._busy:
            self._release()

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # Closing the session releases the lock.
            self._conn = None
