"""PostgreSQL schema migrations: numbered .sql files, applied by one process at a time."""

from __future__ import annotations

from typing import Any

import psycopg

from flamenco.manager.persistence import migrate
from flamenco.manager.persistence.migrate import Migration

# Taken while migrating, so that Manager processes starting together migrate once.
# Advisory locks are per database; mixing in the schema keeps separate farms (and
# test runs) in one database apart.
_LOCK_KEY = "SELECT hashtext(current_schema() || '/flamenco-migrations')"


def available_migrations() -> list[Migration]:
    return migrate.available_migrations("postgresql")


def migrate_blocking(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply every pending migration, each in its own transaction; return their names.

    `conn` must be in autocommit mode. Concurrent callers wait for each other.
    """
    key = conn.execute(_LOCK_KEY).fetchone()[0]  # type: ignore[index]
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = current_version(conn)
        pending = [m for m in available_migrations() if m.version > current]
        for migration in pending:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (%s, %s, to_char(now() AT TIME ZONE 'UTC',"
                    ' \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\'))',
                    (migration.version, migration.name),
                )
        return [m.name for m in pending]
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def current_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def schema_problem(conn: psycopg.Connection[Any]) -> str | None:
    """What is wrong with the schema version, or None when it is the one we know."""
    latest = len(available_migrations())
    current = current_version(conn)
    if current > latest:
        return (
            f"the database schema is version {current}, newer than this Manager knows "
            f"({latest}); a newer Flamenco Manager has used this database"
        )
    if current < latest:
        return f"the database schema is version {current}, but this Manager needs {latest}"
    return None
