"""Moving a farm from SQLite to PostgreSQL: copying every row in one transaction, then checking.

The SQLite file is only ever read: a snapshot of it (SQLite's backup API) is
checked and, when its schema is older, brought up to date; the snapshot is
what gets copied. The copy goes into an empty PostgreSQL database in one
transaction, table by table in foreign key order with COPY, keeping every id
(so Workers keep their ids and secrets, and jobs and tasks their UUIDs, which
name their logs in the Manager's storage). Each identity sequence is then moved
past the highest copied id, and the row count and id sums of every table are
compared on both sides before committing; any difference rolls it all back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql

from flamenco.manager.persistence import errors, integrity, migrate, postgresql_migrate, recovery
from flamenco.manager.persistence.postgresql import redact

Progress = Callable[[str], None]

# How long to wait for other sessions on the target to let go of its tables.
LOCK_TIMEOUT = "10s"
CONNECT_TIMEOUT_SECONDS = 10


@dataclasses.dataclass(frozen=True, slots=True)
class FarmTable:
    name: str
    # Integer columns whose sums, with the row count, check the copy.
    checked_columns: tuple[str, ...]


# Every table of the farm, in foreign key order: each after the tables it refers to.
FARM_TABLES = (
    FarmTable("worker_tags", ("id",)),
    FarmTable("workers", ("id",)),
    FarmTable("worker_tag_membership", ("worker_tag_id", "worker_id")),
    FarmTable("jobs", ("id", "worker_tag_id")),
    FarmTable("tasks", ("id", "job_id", "worker_id")),
    FarmTable("task_dependencies", ("task_id", "dependency_id")),
    FarmTable("job_dependencies", ("job_id", "depends_on_job_id")),
    FarmTable("task_failures", ("task_id", "worker_id")),
    FarmTable("job_blocks", ("id", "job_id", "worker_id")),
    FarmTable("sleep_schedules", ("id", "worker_id")),
    FarmTable("last_rendereds", ("id", "job_id")),
    FarmTable("job_task_counts", ("job_id", "num_tasks")),
    FarmTable("job_resource_limits", ("job_id",)),
    FarmTable("notification_deliveries", ("id", "attempts")),
    FarmTable("task_runs", ("id", "task_id")),
    FarmTable("frame_statistics", ("id",)),
    FarmTable("access_tokens", ("id", "single_use")),
    FarmTable("job_submitters", ("job_id",)),
    FarmTable("users", ("id",)),
    FarmTable("user_sessions", ("id", "user_id")),
    FarmTable("audit_log", ("id", "status")),
)


class MigrationRefused(errors.PersistenceError):
    """Nothing was copied: the source or the target is not fit for it (the message says why)."""


class SourceDamaged(MigrationRefused):
    """The SQLite database fails its own checks."""


class CopyFailed(errors.PersistenceError):
    """The copy was rolled back: PostgreSQL holds none of the farm's rows."""

    def __init__(self, message: str, checks: Sequence[TableCheck] = ()) -> None:
        super().__init__(message)
        self.checks = tuple(checks)


@dataclasses.dataclass(frozen=True, slots=True)
class TableFigures:
    """What is checked of one table on one side: its row count and its checked columns' sums."""

    rows: int
    sums: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class TableCheck:
    table: FarmTable
    source: TableFigures
    target: TableFigures

    @property
    def matches(self) -> bool:
        return self.source == self.target

    def differences(self) -> list[str]:
        """What differs, as phrases for a person; empty when the table matches."""
        found = []
        if self.source.rows != self.target.rows:
            found.append(f"{self.source.rows} rows in SQLite, {self.target.rows} in PostgreSQL")
        for column, ours, theirs in zip(
            self.table.checked_columns, self.source.sums, self.target.sums, strict=True
        ):
            if ours != theirs:
                found.append(f"sum of {column}: {ours} in SQLite, {theirs} in PostgreSQL")
        return found


def compare(
    tables: Sequence[FarmTable],
    source: Mapping[str, TableFigures],
    target: Mapping[str, TableFigures],
) -> list[TableCheck]:
    """Each table's figures side by side, in the order of `tables`."""
    return [TableCheck(table, source[table.name], target[table.name]) for table in tables]


@dataclasses.dataclass(frozen=True, slots=True)
class FarmCopy:
    """What `copy_farm_blocking` did."""

    source_schema_version: int
    # SQLite migrations applied to the snapshot (never to the file itself).
    upgraded_with: tuple[str, ...]
    # PostgreSQL migrations applied to the target before copying.
    target_migrations: tuple[str, ...]
    checks: tuple[TableCheck, ...]
    # The id that each identity column hands out next, per table.
    next_ids: dict[str, int]
    copy_seconds: float


def copy_farm_blocking(
    source: Path,
    url: str,
    *,
    progress: Progress = lambda _: None,
    clock: Callable[[], float] = time.perf_counter,
) -> FarmCopy:
    """Copy the farm in the SQLite database `source` into the PostgreSQL database at `url`.

    Raises MigrationRefused (nothing copied) or CopyFailed (rolled back). The
    file at `source` is never written to.
    """
    if not source.is_file():
        raise MigrationRefused(f"there is no SQLite database at {source}")
    if recovery.is_in_use(source):
        raise MigrationRefused(
            f"{source} is in use by another program, probably a running Manager: stop it first, "
            "so that no change made after the copy is lost"
        )
    try:
        target = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as error:
        raise MigrationRefused(f"cannot connect to {redact(url)}: {_one_line(error)}") from error
    with target:
        # Early, to spare the wait for the snapshot; again once the tables are locked.
        try:
            _refuse_if_occupied(target, url)
        except psycopg.Error as error:
            raise MigrationRefused(f"cannot read {redact(url)}: {_one_line(error)}") from error
        with _snapshot(source) as snapshot:
            progress(f"took a snapshot of {source.name} to read from")
            reader = sqlite3.connect(snapshot, isolation_level=None)
            try:
                version, upgraded = _prepare_source(reader, progress)
                return _copy_into(reader, target, url, version, upgraded, progress, clock)
            finally:
                reader.close()


@contextlib.contextmanager
def _snapshot(source: Path) -> Iterator[Path]:
    """A consistent copy of `source` (with what its WAL holds) in a folder removed afterwards."""
    work = _work_folder(source.parent)
    try:
        target = work / "snapshot.sqlite"
        try:
            original = recovery.open_read_only(source)
            try:
                copy = sqlite3.connect(target, isolation_level=None)
                try:
                    original.backup(copy)
                finally:
                    copy.close()
            finally:
                original.close()
        except sqlite3.DatabaseError as error:
            raise SourceDamaged(f"cannot read {source}: {error}") from error
        except sqlite3.Error as error:
            raise MigrationRefused(f"cannot read {source}: {error}") from error
        yield target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _work_folder(beside: Path) -> Path:
    # Beside the database, where there is room for it; else wherever temporary files go.
    try:
        return Path(tempfile.mkdtemp(prefix=".migrating-to-postgresql-", dir=beside))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="flamenco-migrating-to-postgresql-"))


def _prepare_source(conn: sqlite3.Connection, progress: Progress) -> tuple[int, tuple[str, ...]]:
    """Check the snapshot and bring its schema up to date: its version, and what was applied."""
    try:
        report = integrity.check_blocking(conn)
    except sqlite3.Error as error:
        raise SourceDamaged(f"cannot check the SQLite database: {error}") from error
    if not report.ok:
        raise SourceDamaged(f"the SQLite database is damaged: {report.summary()}")
    version, latest = report.schema_version, report.latest_schema_version
    if version > latest:
        raise MigrationRefused(
            f"the SQLite database has schema version {version}, newer than this Manager knows "
            f"({latest}): migrate it with the Flamenco version that last used it"
        )
    progress(f"checked it: schema version {version}, integrity and foreign keys ok")
    upgraded: tuple[str, ...] = ()
    if version < latest:
        try:
            upgraded = tuple(migrate.migrate_blocking(conn))
        except (sqlite3.Error, RuntimeError) as error:
            raise MigrationRefused(
                f"cannot bring the schema of the snapshot up to date: {error}"
            ) from error
        progress(
            f"brought the snapshot's schema up to date ({', '.join(upgraded)}); "
            "the file itself is left as it was"
        )
    return version, upgraded


def _copy_into(
    reader: sqlite3.Connection,
    target: psycopg.Connection[Any],
    url: str,
    version: int,
    upgraded: tuple[str, ...],
    progress: Progress,
    clock: Callable[[], float],
) -> FarmCopy:
    try:
        applied = tuple(postgresql_migrate.migrate_blocking(target))
        problem = postgresql_migrate.schema_problem(target)
    except psycopg.Error as error:
        raise MigrationRefused(
            f"cannot prepare the schema in {redact(url)}: {_one_line(error)}"
        ) from error
    if problem:
        raise MigrationRefused(problem)
    if applied:
        progress(f"created the Manager's schema in PostgreSQL ({', '.join(applied)})")
    try:
        columns = _common_columns(reader, target)
        with target.transaction():
            _lock(target, url)
            _refuse_if_occupied(target, url)
            started = clock()
            restore = _set_aside_checks(target)
            for table in FARM_TABLES:
                count = _copy_table(reader, target, table.name, columns[table.name])
                progress(f"copied {table.name} ({count} row{'' if count == 1 else 's'})")
            for statement in restore:
                target.execute(statement)
            progress("rebuilt the indexes and checked the foreign keys")
            # Statistics now, so that the first queries on the new database are planned
            # for its real size rather than for empty tables.
            target.execute(
                sql.SQL("ANALYZE {}").format(
                    sql.SQL(", ").join(sql.Identifier(table.name) for table in FARM_TABLES)
                )
            )
            next_ids = _move_sequences(target)
            checks = compare(FARM_TABLES, _figures(reader.execute), _figures(target.execute))
            if not all(check.matches for check in checks):
                raise CopyFailed(
                    "the copy does not match the SQLite database; it was rolled back", checks
                )
            copy_seconds = clock() - started
    except (psycopg.Error, sqlite3.Error) as error:
        raise CopyFailed(f"copying failed and was rolled back: {_one_line(error)}") from error
    return FarmCopy(version, upgraded, applied, tuple(checks), next_ids, copy_seconds)


def _common_columns(
    reader: sqlite3.Connection, target: psycopg.Connection[Any]
) -> dict[str, list[str]]:
    """Each farm table's columns, which must be the same on both sides."""
    ours = {
        row[0]
        for row in reader.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    theirs: dict[str, list[str]] = {}
    for table_name, column_name in target.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' "
        "AND table_name IN (SELECT table_name FROM information_schema.tables "
        "  WHERE table_schema = current_schema() AND table_type = 'BASE TABLE') "
        "ORDER BY table_name, ordinal_position"
    ):
        theirs.setdefault(table_name, []).append(column_name)
    known = {table.name for table in FARM_TABLES}
    if ours != known or set(theirs) != known:
        raise CopyFailed(
            "this Manager's schemas do not hold the same tables (a bug): "
            f"SQLite {sorted(ours)}, PostgreSQL {sorted(theirs)}, copied {sorted(known)}"
        )
    for name, columns in theirs.items():
        sqlite_columns = {row[1] for row in reader.execute(f'PRAGMA table_info("{name}")')}
        if sqlite_columns != set(columns):
            raise CopyFailed(
                f"this Manager's schemas differ in table {name} (a bug): "
                f"SQLite {sorted(sqlite_columns)}, PostgreSQL {sorted(columns)}"
            )
    return theirs


def _lock(target: psycopg.Connection[Any], url: str) -> None:
    """Keep others off the farm's tables until this transaction ends."""
    target.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    names = sql.SQL(", ").join(sql.Identifier(table.name) for table in FARM_TABLES)
    try:
        target.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(names))
    except psycopg.errors.LockNotAvailable as error:
        raise MigrationRefused(
            f"another program is using {redact(url)} (a running Manager?): stop it first"
        ) from error


def _refuse_if_occupied(target: psycopg.Connection[Any], url: str) -> None:
    """Refuse a target whose farm tables, those it has, hold any row."""
    present = {
        row[0]
        for row in target.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    }
    held = {}
    for table in FARM_TABLES:
        if table.name not in present:
            continue
        row = target.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
        ).fetchone()
        if row and row[0]:
            held[table.name] = int(row[0])
    if held:
        described = ", ".join(f"{name}: {count}" for name, count in held.items())
        raise MigrationRefused(
            f"{redact(url)} already holds farm data ({described}); the copy goes only into a "
            "database (or schema) without any: create a new one, or empty this one if you "
            "are sure it holds nothing you need"
        )


def _set_aside_checks(target: psycopg.Connection[Any]) -> list[sql.SQL | sql.Composed]:
    """Drop the farm's foreign keys and plain indexes for the copy; the statements restoring them.

    PostgreSQL checks a foreign key row by row as rows arrive, but in one join
    when it is added; and builds an index faster at once than a row at a time.
    The definitions come from the catalog, so they return exactly as they were;
    primary keys and unique constraints stay in place throughout.
    """
    restore: list[sql.SQL | sql.Composed] = []
    indexes = target.execute(
        "SELECT index.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class index ON index.oid = x.indexrelid "
        "JOIN pg_class tab ON tab.oid = x.indrelid "
        "WHERE tab.relnamespace = current_schema()::regnamespace AND NOT x.indisunique "
        "ORDER BY index.relname"
    ).fetchall()
    for name, definition in indexes:
        target.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        restore.append(sql.SQL(definition))
    foreign_keys = target.execute(
        "SELECT tab.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
        "JOIN pg_class tab ON tab.oid = con.conrelid "
        "WHERE con.connamespace = current_schema()::regnamespace AND con.contype = 'f' "
        "ORDER BY tab.relname, con.conname"
    ).fetchall()
    for table, name, definition in foreign_keys:
        target.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
        restore.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
        )
    return restore


def _copy_table(
    reader: sqlite3.Connection,
    target: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
) -> int:
    names = ", ".join(f'"{column}"' for column in columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    with target.cursor() as cursor, cursor.copy(statement) as copy:
        for row in reader.execute(f'SELECT {names} FROM "{table}"'):
            copy.write_row(row)
            count += 1
    return count


def _move_sequences(target: psycopg.Connection[Any]) -> dict[str, int]:
    """Set each identity column's sequence past the highest copied id; the next id per table."""
    identities = target.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name"
    ).fetchall()
    next_ids = {}
    for table, column in identities:
        row = target.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false) "
                "FROM {}"
            ).format(
                sql.Literal(table),
                sql.Literal(column),
                sql.Identifier(column),
                sql.Identifier(table),
            )
        ).fetchone()
        assert row is not None
        next_ids[str(table)] = int(row[0])
    return next_ids


def _figures(execute: Callable[[str], Any]) -> dict[str, TableFigures]:
    """Every farm table's figures, with SQL that both databases understand alike."""
    figures = {}
    for table in FARM_TABLES:
        sums = ", ".join(f'coalesce(sum("{column}"), 0)' for column in table.checked_columns)
        row = execute(f'SELECT count(*), {sums} FROM "{table.name}"').fetchone()
        figures[table.name] = TableFigures(int(row[0]), tuple(int(value) for value in row[1:]))
    return figures


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
