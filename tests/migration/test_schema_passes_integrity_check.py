"""Every table of the schema passes SQLite's integrity check with rows in it, on SQLite 3.40 too."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from flamenco.manager.persistence import migrate
from support.database_files import fill_every_table, migrated, tables


def _is_without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    return re.search(r"\)\s*WITHOUT\s+ROWID\s*$", sql, re.IGNORECASE) is not None


def test_without_rowid_tables_declare_their_key_columns_first(tmp_path: Path) -> None:
    # SQLite 3.40's integrity_check reports "NULL value in t.c" for a NOT NULL
    # column that comes before the key columns of a WITHOUT ROWID table.
    conn = migrated(tmp_path / "db.sqlite")
    checked = []
    for table in tables(conn):
        if not _is_without_rowid(conn, table):
            continue
        columns = list(conn.execute(f"PRAGMA table_info({table})"))
        key = [c[1] for c in sorted((c for c in columns if c[5]), key=lambda c: c[5])]
        leading = [c[1] for c in columns[: len(key)]]
        assert leading == key, f"{table}: declare the key columns {key} first, in key order"
        checked.append(table)
    assert sorted(checked) == [
        "job_dependencies",
        "job_resource_limits",
        "task_dependencies",
        "task_failures",
        "worker_tag_membership",
    ]


def test_a_row_in_every_table_passes_integrity_check(tmp_path: Path) -> None:
    conn = migrated(tmp_path / "db.sqlite")
    conn.execute("PRAGMA foreign_keys = ON")
    fill_every_table(conn)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_migration_0003_keeps_task_failures_and_fixes_the_check(tmp_path: Path) -> None:
    conn = migrated(tmp_path / "db.sqlite", up_to=2)
    fill_every_table(conn)
    before = conn.execute("SELECT task_id, worker_id, created_at FROM task_failures").fetchall()
    assert before == [(1, 1, "task_failures.created_at")]
    if sqlite3.sqlite_version_info[:2] == (3, 40):
        # The misreport this migration exists for, on the SQLite of Debian 12.
        assert conn.execute("PRAGMA integrity_check").fetchall() == [
            ("NULL value in task_failures.created_at",)
        ]
    assert migrate.migrate_blocking(conn) == [
        m.name for m in migrate.available_migrations() if m.version > 2
    ]
    after = conn.execute("SELECT task_id, worker_id, created_at FROM task_failures").fetchall()
    assert after == before
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(task_failures)")}
    assert "task_failures_worker" in indexes


@pytest.mark.parametrize("version", [1, 2])
def test_old_schemas_with_rows_migrate_to_a_clean_check(tmp_path: Path, version: int) -> None:
    conn = migrated(tmp_path / "db.sqlite", up_to=version)
    fill_every_table(conn)
    migrate.migrate_blocking(conn)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
