"""Schema migrations: numbered .sql files applied in order, tracked in PRAGMA user_version."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

logger = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_\w+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations(dialect_folder: str = "") -> list[Migration]:
    """The numbered migrations in migrations/ (SQLite) or a dialect's subfolder, in order."""
    folder = resources.files(__package__).joinpath("migrations", *filter(None, [dialect_folder]))
    migrations = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            migrations.append(
                Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8"))
            )
    migrations.sort(key=lambda m: m.version)
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {migration.name} is out of sequence")
    return migrations


def migrate_blocking(conn: sqlite3.Connection, *, up_to: int | None = None) -> list[str]:
    """Apply every pending migration (up to version `up_to`), each in its own transaction.

    Returns the names of the migrations applied. Foreign keys are switched off
    while migrating, so that a migration can rebuild a table, and checked
    afterwards. `conn` must be in autocommit mode.
    """
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    pending = [
        m
        for m in available_migrations()
        if m.version > current and (up_to is None or m.version <= up_to)
    ]
    if not pending:
        return []

    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for migration in pending:
            logger.info("applying database migration %s", migration.name)
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
                violations = conn.execute("PRAGMA foreign_key_check").fetchall()
                if violations:
                    raise RuntimeError(
                        f"migration {migration.name} left foreign key violations: {violations[:5]}"
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
        raise RuntimeError("foreign keys could not be switched back on after migrating")
    return [m.name for m in pending]


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements, as SQLite itself sees them."""
    statements = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statement = current.strip()
            if statement.strip(";").strip() and not _only_comments(statement):
                statements.append(statement)
            current = ""
    if current.strip() and not _only_comments(current):
        raise ValueError(f"incomplete SQL statement at the end of the script: {current.strip()!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


SCHEMA_HEADER = (
    "-- The schema that applying every migration in migrations/ produces (a test checks).\n"
    "-- Edit the migrations, then regenerate this file: python -m flamenco.manager.persistence\n"
)


def schema_sql() -> str:
    """The schema that the migrations produce, as SQL statements."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate_blocking(conn)
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY "
            "CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
        )
        return SCHEMA_HEADER + "\n" + "\n".join(f"{row[0]};\n" for row in rows)
    finally:
        conn.close()
