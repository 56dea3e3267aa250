"""The numbered migrations and schema.sql describe the same database."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from flamenco.manager.persistence import migrate

SCHEMA_SQL = resources.files("flamenco.manager.persistence").joinpath("schema.sql")


def _normalised_master(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
    )
    return [(kind, name, " ".join(sql.split())) for kind, name, sql in rows]


def test_migrations_produce_schema_sql(tmp_path: Path) -> None:
    migrated = sqlite3.connect(tmp_path / "migrated.sqlite", isolation_level=None)
    migrate.migrate_blocking(migrated)
    from_schema = sqlite3.connect(tmp_path / "schema.sqlite", isolation_level=None)
    from_schema.executescript(SCHEMA_SQL.read_text(encoding="utf-8"))
    assert _normalised_master(migrated) == _normalised_master(from_schema)


def test_migrations_set_user_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    applied = migrate.migrate_blocking(conn)
    latest = migrate.available_migrations()[-1].version
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
    assert applied
    assert migrate.migrate_blocking(conn) == []


def test_migrations_leave_foreign_keys_on(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    migrate.migrate_blocking(conn)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_schema_sql_is_up_to_date() -> None:
    assert SCHEMA_SQL.read_text(encoding="utf-8") == migrate.schema_sql(), (
        "regenerate it: python -m flamenco.manager.persistence"
    )
