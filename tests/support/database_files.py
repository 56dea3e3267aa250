"""Database files for tests: old schema versions, a row in every table, and real damage."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from flamenco.manager.persistence import migrate


def migrated(path: Path, *, up_to: int | None = None) -> sqlite3.Connection:
    """A database file with the schema of version `up_to` (default: the latest)."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate.migrate_blocking(conn, up_to=up_to)
    return conn


def tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return [row[0] for row in rows]


def fill_every_table(conn: sqlite3.Connection) -> None:
    """One row in every table, every column set, parents before children (id 1 everywhere)."""
    names = tables(conn)
    done: set[str] = set()
    while len(done) < len(names):
        progressed = False
        for table in names:
            if table in done:
                continue
            parents = {row[2] for row in conn.execute(f"PRAGMA foreign_key_list({table})")}
            if not parents <= done | {table}:
                continue
            columns = list(conn.execute(f"PRAGMA table_info({table})"))
            values = [1 if "INT" in c[2].upper() else f"{table}.{c[1]}" for c in columns]
            column_names = ", ".join(column[1] for column in columns)
            placeholders = ", ".join("?" for _ in columns)
            conn.execute(f"INSERT INTO {table} ({column_names}) VALUES ({placeholders})", values)
            done.add(table)
            progressed = True
        assert progressed, f"cannot order the tables by their foreign keys: {set(names) - done}"


def leaf_pages(path: Path, table: str) -> list[tuple[int, int]]:
    """(page number, rows on it) of the table's leaf pages, in key order (SQLite's dbstat)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
            (table,),
        )
        return [(int(page), int(cells)) for page, cells in rows]
    finally:
        conn.close()


def overwrite_pages(path: Path, pages: list[int]) -> None:
    """Overwrite whole pages with noise, as a failing disk or a stray write would."""
    conn = sqlite3.connect(path)
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.close()
    noise = bytes((n * 37 + 11) % 256 for n in range(page_size))
    with path.open("r+b") as file:
        for page in pages:
            file.seek((page - 1) * page_size)  # Pages are numbered from 1.
            file.write(noise)
            file.flush()
            os.fsync(file.fileno())


def run_manager_cli(
    *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flamenco.manager", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def files_in(folder: Path) -> dict[str, bytes]:
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file()}
