"""The PostgreSQL database: pooled psycopg connections, each transaction in one thread hop.

Several Manager processes can share one such database. Each process keeps a
pool of connections; a transaction function runs whole in one of a few threads
that own those connections, as on SQLite, so that services run unchanged on
both. Writes that must not queue behind a flood (handing a Worker a task) have
connections of their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
import psycopg.errors
import psycopg_pool
from psycopg.rows import RowMaker

from flamenco.manager.persistence import errors
from flamenco.manager.persistence.connection import Connection, Dialect, Params
from flamenco.manager.persistence.postgresql_migrate import migrate_blocking, schema_problem
from flamenco.manager.persistence.queries import load_queries

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Enough for a busy process without crowding the server: a PostgreSQL server
# allows 100 connections by default, which four processes then share.
CONNECTIONS = 8
URGENT_CONNECTIONS = 2
# How long a request waits for a connection before it answers 503.
CONNECTION_WAIT_SECONDS = 5.0


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


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PostgresRow]:
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}

    def make(values: Any) -> PostgresRow:
        return PostgresRow(tuple(values), index)

    return make


class PostgresConnection:
    """Connection over psycopg: named queries, unique violations as UniqueViolation."""

    __slots__ = ("_sql", "raw")

    def __init__(self, raw: psycopg.Connection[PostgresRow], sql: Mapping[str, str]) -> None:
        self.raw = raw
        self._sql = sql

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRESQL

    def execute(self, query: str, params: Params | None = None, /) -> psycopg.Cursor[PostgresRow]:
        try:
            return self.raw.execute(self._sql[query], params or {})
        except psycopg.errors.UniqueViolation as error:
            raise errors.UniqueViolation(str(error)) from error

    def executemany(self, query: str, params: Iterable[Params], /) -> None:
        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(self._sql[query], params)
        except psycopg.errors.UniqueViolation as error:
            raise errors.UniqueViolation(str(error)) from error


class PostgresDatabase:
    """All access to a PostgreSQL database, shared with other Manager processes."""

    dialect = Dialect.POSTGRESQL

    def __init__(
        self,
        url: str,
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[PostgresRow]],
        urgent_pool: psycopg_pool.ConnectionPool[psycopg.Connection[PostgresRow]],
    ) -> None:
        self.url = url
        self._pool = pool
        self._urgent_pool = urgent_pool
        self._sql = load_queries(Dialect.POSTGRESQL)
        self._threads = concurrent.futures.ThreadPoolExecutor(
            CONNECTIONS, thread_name_prefix="postgresql"
        )
        self._urgent_threads = concurrent.futures.ThreadPoolExecutor(
            URGENT_CONNECTIONS, thread_name_prefix="postgresql-urgent"
        )

    @classmethod
    async def open(cls, url: str, *, connections: int = CONNECTIONS) -> PostgresDatabase:
        """Connect, migrate the schema (one process at a time) and open the pools.

        Raises errors.PersistenceError naming the problem when the server cannot
        be reached or refuses us.
        """
        try:
            await asyncio.to_thread(_migrate, url)
        except psycopg.Error as error:
            raise errors.PersistenceError(f"cannot use database {redact(url)}: {error}") from error
        pool = _pool(url, connections, "flamenco")
        urgent_pool = _pool(url, URGENT_CONNECTIONS, "flamenco-urgent")
        try:
            await asyncio.to_thread(pool.wait, CONNECTION_WAIT_SECONDS)
            await asyncio.to_thread(urgent_pool.wait, CONNECTION_WAIT_SECONDS)
        except psycopg_pool.PoolTimeout as error:
            pool.close()
            urgent_pool.close()
            raise errors.PersistenceError(
                f"cannot connect to database {redact(url)}: no connection within "
                f"{CONNECTION_WAIT_SECONDS:.0f} s"
            ) from error
        return cls(url, pool, urgent_pool)

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.close)
        await asyncio.to_thread(self._urgent_pool.close)
        self._threads.shutdown(wait=False)
        self._urgent_threads.shutdown(wait=False)

    async def write(self, fn: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `fn` in a transaction of its own; its changes are committed when this returns."""
        if urgent:
            return await self._run(self._urgent_threads, self._urgent_pool, fn, read_only=False)
        return await self._run(self._threads, self._pool, fn, read_only=False)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in a read-only transaction that sees one consistent snapshot."""
        return await self._run(self._threads, self._pool, fn, read_only=True)

    async def check_integrity(self) -> None:
        """PostgreSQL keeps its own files whole; this checks that it answers, with our schema."""
        await self._run(self._threads, self._pool, _check_schema, read_only=True)

    async def _run(
        self,
        threads: concurrent.futures.ThreadPoolExecutor,
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[PostgresRow]],
        fn: Callable[[Connection], T],
        *,
        read_only: bool,
    ) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(threads, self._transaction, pool, fn, read_only)

    def _transaction(
        self,
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[PostgresRow]],
        fn: Callable[[Connection], T],
        read_only: bool,
    ) -> T:
        try:
            with pool.connection() as raw:
                if read_only:
                    raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                else:
                    raw.execute("BEGIN")
                try:
                    result = fn(PostgresConnection(raw, self._sql))
                except BaseException:
                    if not raw.broken:
                        raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
                return result
        except (
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.LockNotAvailable,
        ) as error:
            logger.info(
                "transaction lost a race, the client may retry", extra={"error": str(error)}
            )
            raise errors.DatabaseBusy() from error
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            logger.warning("database unavailable", extra={"error": str(error)})
            raise errors.DatabaseUnavailable() from error


def _pool(
    url: str, size: int, name: str
) -> psycopg_pool.ConnectionPool[psycopg.Connection[PostgresRow]]:
    return psycopg_pool.ConnectionPool(
        url,
        min_size=size,
        max_size=size,
        name=name,
        timeout=CONNECTION_WAIT_SECONDS,
        # Reconnect for as long as it takes: the server may be restarted.
        reconnect_timeout=0,
        kwargs={"autocommit": True, "row_factory": _rows, "prepare_threshold": 2},
        open=True,
    )


def _migrate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        applied = migrate_blocking(conn)
        for name in applied:
            logger.info("applied database migration %s", name)


def _check_schema(conn: Connection) -> None:
    assert isinstance(conn, PostgresConnection)
    problem = schema_problem(conn.raw)
    if problem:
        raise errors.IntegrityError(problem)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.get("host", "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"
