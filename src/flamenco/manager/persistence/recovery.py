"""A database file seen from outside the Manager: checking it read-only, rebuilding a damaged one.

Recovery never writes to the damaged file: it keeps a copy of it (with its
WAL), rebuilds the data into a new file in a working folder beside it (VACUUM
INTO; else the `sqlite3` shell's `.recover`; else copying every row that can
still be read), checks the result, and only then puts it in the database's
place.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

from flamenco.manager.persistence import errors, integrity, migrate
from flamenco.manager.persistence.integrity import IntegrityReport

# Rows copied per query when copying row by row.
ROWS_PER_PAGE = 500
# How long the sqlite3 shell may take to read out a damaged database.
SHELL_TIMEOUT_SECONDS = 30 * 60
_SQLITE_HEADER = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm")

Progress = Callable[[str], None]


class RecoveryFailed(errors.PersistenceError):
    """The database could not be rebuilt; it was left as it was."""


@dataclasses.dataclass(frozen=True, slots=True)
class Recovery:
    """What `recover_blocking` did."""

    damaged_copy: Path
    method: str
    # Rows removed (or references cleared) because what they referred to was lost, per table.
    orphans_removed: dict[str, int]
    # Rows in the rebuilt database, per table.
    row_counts: dict[str, int]
    # Rows the shell's .recover found but could not place in a table.
    lost_and_found: int
    report: IntegrityReport


def check_file_blocking(path: Path) -> IntegrityReport:
    """Check the database file at `path` without changing it, even while a Manager uses it."""
    if not path.is_file():
        raise FileNotFoundError(f"there is no database at {path}")
    conn = open_read_only(path)
    try:
        return integrity.check_blocking(conn)
    finally:
        conn.close()


def is_in_use(path: Path) -> bool:
    """Whether another process has the database open, as far as this platform can tell.

    Every SQLite connection to a WAL database holds a shared lock on one byte
    (128) of its `-shm` file for as long as it is open; a running Manager keeps
    two connections open.
    """
    shm = Path(f"{path}-shm")
    try:
        import fcntl
    except ImportError:  # Windows: SQLite there refuses to share files that are open anyway.
        return False
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 128)
        return False
    finally:
        os.close(fd)


def recover_blocking(
    path: Path,
    now: dt.datetime,
    *,
    shell: str | None = None,
    progress: Progress = lambda _: None,
) -> Recovery:
    """Rebuild the database at `path` into a new file and put that in its place.

    `shell` is the `sqlite3` program to try `.recover` with (None: don't).
    Raises RecoveryFailed, leaving `path` untouched, when nothing usable comes out.
    """
    if not path.is_file():
        raise RecoveryFailed(f"there is no database at {path}")
    if is_in_use(path):
        raise RecoveryFailed(
            f"{path} is in use by another program, probably a running Manager: stop it first"
        )
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    damaged_copy = path.with_name(f"{path.name}.damaged-{stamp}")
    _copy_with_companions(path, damaged_copy)
    progress(f"kept a copy of the damaged database: {damaged_copy}")
    work = Path(tempfile.mkdtemp(prefix=".recovering-", dir=path.parent))
    succeeded = False
    try:
        source = work / "source.sqlite"
        _copy_with_companions(path, source)
        rebuilt, method, lost = _rebuild(source, work, shell, progress)
        orphans, counts, report = _finish(rebuilt, progress)
        _copy_owner_and_mode(path, rebuilt)
        for suffix in _COMPANIONS:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(rebuilt, path)
        _fsync_directory(path.parent)
        succeeded = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not succeeded:
            for copy in (damaged_copy, *(Path(f"{damaged_copy}{s}") for s in _COMPANIONS)):
                copy.unlink(missing_ok=True)
    return Recovery(damaged_copy, method, orphans, counts, lost, report)


def _rebuild(
    source: Path, work: Path, shell: str | None, progress: Progress
) -> tuple[Path, str, int]:
    """Try each way of reading out the data in turn; return the new file, the way, lost rows."""
    attempts: list[tuple[str, Callable[[Path, Path], int]]] = [("VACUUM INTO", _vacuum_into)]
    if shell is not None:
        attempts.append(("the sqlite3 shell's .recover", lambda s, t: _shell_recover(shell, s, t)))
    attempts.append(("copying every row that can be read", _copy_rows))
    problems = []
    for number, (name, attempt) in enumerate(attempts):
        target = work / f"rebuilt-{number}.sqlite"
        progress(f"rebuilding with {name} ...")
        try:
            lost = attempt(source, target)
            report = _check(target)
        except (sqlite3.Error, OSError, subprocess.SubprocessError, RecoveryFailed) as error:
            progress(f"  did not work: {_one_line(error)}")
            problems.append(f"{name}: {_one_line(error)}")
            continue
        if report.problems:
            progress(f"  the result is damaged too: {report.summary()}")
            problems.append(f"{name}: the result is damaged too")
            continue
        progress("  done")
        return target, name, lost
    raise RecoveryFailed("nothing could be read out of the database: " + "; ".join(problems))


def _finish(
    rebuilt: Path, progress: Progress
) -> tuple[dict[str, int], dict[str, int], IntegrityReport]:
    """Remove rows that refer to lost ones, bring the schema up to date, check the result."""
    conn = sqlite3.connect(rebuilt, isolation_level=None)
    try:
        orphans = _remove_orphans(conn)
        if orphans:
            described = ", ".join(f"{table}: {count}" for table, count in sorted(orphans.items()))
            progress(f"removed rows that referred to lost rows ({described})")
        applied = migrate.migrate_blocking(conn)
        if applied:
            progress(f"brought the schema up to date ({', '.join(applied)})")
        conn.execute("PRAGMA journal_mode = DELETE")
        report = integrity.check_blocking(conn)
        if not report.ok:
            raise RecoveryFailed(f"the rebuilt database fails its check: {report.summary()}")
        counts = {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in _tables(conn)
        }
    finally:
        conn.close()
    _fsync(rebuilt)
    return orphans, counts, report


def _check(path: Path) -> IntegrityReport:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return integrity.check_blocking(conn)
    finally:
        conn.close()


def _vacuum_into(source: Path, target: Path) -> int:
    with _closing(sqlite3.connect(source, isolation_level=None)) as conn:
        conn.execute("VACUUM INTO ?", (str(target),))
    return 0


def _shell_recover(shell: str, source: Path, target: Path) -> int:
    """`sqlite3 SOURCE .recover | sqlite3 TARGET`; its `lost_and_found` rows are counted, dropped.

    Some builds of the shell (Debian 12's, which lacks the sqlite_dbpage
    table) cannot recover at all; they fail here, and the next way is tried.
    """
    script = target.with_suffix(".sql")
    with script.open("wb") as out:
        read = subprocess.run(
            [shell, str(source), ".recover"],
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=SHELL_TIMEOUT_SECONDS,
            check=False,
        )
    if read.returncode != 0 or read.stderr.strip():
        raise RecoveryFailed(
            read.stderr.decode(errors="replace").strip() or f"exit {read.returncode}"
        )
    with script.open("rb") as statements:
        load = subprocess.run(
            [shell, "-bail", str(target)],
            stdin=statements,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=SHELL_TIMEOUT_SECONDS,
            check=False,
        )
    if load.returncode != 0:
        raise RecoveryFailed(
            load.stderr.decode(errors="replace").strip() or f"exit {load.returncode}"
        )
    with _closing(sqlite3.connect(target, isolation_level=None)) as conn:
        lost = 0
        if "lost_and_found" in _tables(conn):
            lost = int(conn.execute("SELECT count(*) FROM lost_and_found").fetchone()[0])
            conn.execute("DROP TABLE lost_and_found")
    return lost


def _copy_rows(source: Path, target: Path) -> int:
    """Create the schema of the source's version from our migrations, then copy readable rows.

    The schema comes from the migrations rather than from the damaged file, so
    a damaged schema table does not matter. Each table is read in key order a
    page at a time; where a page cannot be read, the copy skips ahead past the
    damage and carries on.
    """
    version = _schema_version(source)
    latest = migrate.available_migrations()[-1].version
    if version > latest:
        raise RecoveryFailed(
            f"the database has schema version {version}, newer than this Manager knows ({latest})"
        )
    with (
        _closing(sqlite3.connect(source, isolation_level=None)) as reader,
        _closing(sqlite3.connect(target, isolation_level=None)) as writer,
    ):
        migrate.migrate_blocking(writer, up_to=version)
        writer.execute("PRAGMA foreign_keys = OFF")
        writer.execute("BEGIN")
        for table in _tables(writer):
            _copy_table(reader, writer, table)
        writer.execute("COMMIT")
    return 0


def _copy_table(reader: sqlite3.Connection, writer: sqlite3.Connection, table: str) -> None:
    columns = [row[1] for row in writer.execute(f'PRAGMA table_info("{table}")')]
    try:
        readable = {row[1] for row in reader.execute(f'PRAGMA table_info("{table}")')}
    except sqlite3.DatabaseError:
        readable = set(columns)
    columns = [column for column in columns if column in readable]
    if not columns:
        return
    key = _key_columns(writer, table)
    names = ", ".join(f'"{c}"' for c in columns)
    key_names = ", ".join(key)
    selected = f'SELECT {key_names}, {names} FROM "{table}"'
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    # Read on after the row with key `after`, or, past damage, from first key `resume_from`
    # (seeking "after X" visits X's page, which may be the damaged one).
    after: tuple[object, ...] | None = None
    resume_from: int | None = None
    limit = ROWS_PER_PAGE
    while True:
        try:
            rows = _page(reader, selected, key, after, limit, first_key_from=resume_from)
        except sqlite3.DatabaseError:
            if limit > 1:
                limit = 1  # Row by row up to the damage, so no readable row before it is lost.
                continue
            if after is not None and isinstance(after[0], int):
                start = after[0] + 1
            else:
                start = resume_from or 0
            resume_from = _skip_damage(reader, selected, key, start)
            if resume_from is None:
                return
            after, limit = None, ROWS_PER_PAGE
            continue
        if not rows:
            return
        writer.executemany(insert, [tuple(row[len(key) :]) for row in rows])
        after, resume_from = tuple(rows[-1][: len(key)]), None


def _page(
    reader: sqlite3.Connection,
    selected: str,
    key: list[str],
    after: tuple[object, ...] | None,
    limit: int,
    *,
    first_key_from: int | None = None,
) -> list[tuple[object, ...]]:
    order = ", ".join(key)
    if first_key_from is not None:
        sql = f"{selected} WHERE {key[0]} >= ? ORDER BY {order} LIMIT {limit:d}"
        params: tuple[object, ...] = (first_key_from,)
    elif after is None:
        sql = f"{selected} ORDER BY {order} LIMIT {limit:d}"
        params = ()
    else:
        placeholders = ", ".join("?" for _ in key)
        sql = f"{selected} WHERE ({order}) > ({placeholders}) ORDER BY {order} LIMIT {limit:d}"
        params = after
    return [tuple(row) for row in reader.execute(sql, params)]


def _skip_damage(
    reader: sqlite3.Connection, selected: str, key: list[str], start: int
) -> int | None:
    """The first key past damage that begins at `start` from which rows can be read again.

    None when nothing readable follows. Probes at growing distances on the
    first key column (every key here is an integer), then narrows down to the
    nearest readable row.
    """

    def readable_from(first: int) -> bool | None:
        try:
            return bool(_page(reader, selected, key, None, 1, first_key_from=first))
        except sqlite3.DatabaseError:
            return None

    step = 1
    found = None
    while step < 2**62:
        outcome = readable_from(start + step)
        if outcome is False:
            return None  # Readable, and nothing there: the damage ran to the end.
        if outcome is True:
            found = start + step
            break
        step *= 2
    if found is None:
        return None
    low = start + step // 2  # Unreadable (or the start itself).
    while found - low > 1:
        middle = (low + found) // 2
        if readable_from(middle):
            found = middle
        else:
            low = middle
    return found


def _key_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    info = list(conn.execute(f'PRAGMA table_info("{table}")'))
    key = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    without_rowid = (
        conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
        .fetchone()[0]
        .upper()
        .rstrip()
        .endswith("WITHOUT ROWID")
    )
    return [f'"{k}"' for k in key] if without_rowid else ["rowid"]


def _remove_orphans(conn: sqlite3.Connection) -> dict[str, int]:
    """Delete (or, for ON DELETE SET NULL, clear) references to rows that no longer exist."""
    removed: collections.Counter[str] = collections.Counter()
    conn.execute("PRAGMA foreign_keys = OFF")
    for _ in range(20):  # Each round can orphan rows further down (jobs -> tasks -> failures).
        tables = {row[0] for row in conn.execute("PRAGMA foreign_key_check")}
        if not tables:
            break
        for table in sorted(tables):
            for _, _, parent, column, parent_column, _, on_delete, _ in conn.execute(
                f'PRAGMA foreign_key_list("{table}")'
            ).fetchall():
                target = parent_column or _key_columns(conn, parent)[0].strip('"')
                orphan = (
                    f'"{column}" IS NOT NULL AND "{column}" NOT IN '
                    f'(SELECT "{target}" FROM "{parent}")'
                )
                if on_delete.upper() == "SET NULL":
                    changed = conn.execute(f'UPDATE "{table}" SET "{column}" = NULL WHERE {orphan}')
                else:
                    changed = conn.execute(f'DELETE FROM "{table}" WHERE {orphan}')
                removed[table] += changed.rowcount
    return {table: count for table, count in removed.items() if count}


def _schema_version(path: Path) -> int:
    """PRAGMA user_version, or when that cannot be read, the same number from the file header."""
    with (
        contextlib.suppress(sqlite3.DatabaseError),
        _closing(sqlite3.connect(path, isolation_level=None)) as conn,
    ):
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(_SQLITE_HEADER):
        raise RecoveryFailed("the file is not an SQLite database at all")
    return int.from_bytes(header[60:64], "big")


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [row[0] for row in rows]


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the database at `path`, even while a Manager uses it."""
    # With neither a WAL nor its index beside it, nothing else is using the file
    # and immutable=1 reads it without creating either; otherwise mode=ro reads
    # the WAL too, sharing its index with whoever else has the file open.
    quiet = not any(Path(f"{path}{suffix}").exists() for suffix in _COMPANIONS)
    options = "mode=ro&immutable=1" if quiet else "mode=ro"
    uri = f"file:{urllib.parse.quote(str(path))}?{options}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def _copy_owner_and_mode(original: Path, replacement: Path) -> None:
    """Give the rebuilt file the damaged one's permissions, and its owner where we may.

    An operator who recovers as root must not leave a file that the Manager's
    own account cannot write.
    """
    shutil.copymode(original, replacement)
    if hasattr(os, "chown"):
        status = original.stat()
        with contextlib.suppress(PermissionError):
            os.chown(replacement, status.st_uid, status.st_gid)


def _copy_with_companions(path: Path, destination: Path) -> None:
    shutil.copy2(path, destination)
    for suffix in _COMPANIONS[:1]:  # The WAL holds committed changes; its index is rebuilt.
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            shutil.copy2(companion, Path(f"{destination}{suffix}"))


@contextlib.contextmanager
def _closing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield conn
    finally:
        conn.close()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    if os.name == "posix":
        _fsync(path)
