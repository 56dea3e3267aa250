"""Refusing, at start-up, an SQLite database the Manager could read but not write."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from flamenco.manager.persistence import errors

# SQLite writes these beside the database in WAL mode (and a -journal while migrating).
COMPANION_SUFFIXES = ("-wal", "-shm")


def check_files(path: Path) -> None:
    """Raise errors.DatabaseNotWritable when the database, its WAL files or their directory
    cannot be written by this process; a missing database only needs its directory.

    Without this, such a database opens fine and every write then fails.
    """
    for file in (path, *(path.with_name(path.name + suffix) for suffix in COMPANION_SUFFIXES)):
        if file.exists() and not os.access(file, os.W_OK):
            raise errors.DatabaseNotWritable(
                f"cannot write the database file {file}: {_why(file)}; the Manager needs "
                "to read and write it"
            )
    directory = path.parent
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        raise errors.DatabaseNotWritable(
            f"cannot write in {directory}, the directory of the database {path}: "
            f"{_why(directory)}; SQLite creates its -wal and -shm files there"
        )


def probe_blocking(conn: sqlite3.Connection, location: str) -> None:
    """A write that is rolled back: the last word where permissions say yes but SQLite says no."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"PRAGMA user_version = {version}")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_READONLY:
            raise
        raise errors.DatabaseNotWritable(
            f"cannot write the database {location}: SQLite says: {error}"
        ) from error
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _why(path: Path) -> str:
    statvfs = getattr(os, "statvfs", None)  # Not on Windows.
    if statvfs is not None and statvfs(path).f_flag & os.ST_RDONLY:
        return "it is on a read-only file system"
    info = path.stat()
    runs_as = f", the Manager runs as uid {os.geteuid()}" if hasattr(os, "geteuid") else ""
    return (
        f"permission denied (mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid}{runs_as})"
    )
