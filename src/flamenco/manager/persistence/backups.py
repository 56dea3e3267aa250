"""Online backups of the SQLite database with SQLite's backup API, each checked, kept to a count."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import re
import shutil
import sqlite3
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

from flamenco.clock import Clock
from flamenco.manager.persistence import errors, integrity

logger = logging.getLogger(__name__)

_STAMP_FORMAT = "%Y%m%d-%H%M%S"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})(?:-(?P<extra>\d+))?\.sqlite$")
PARTIAL_SUFFIX = ".partial"

# A failed backup is tried again after this long (or after the period, if shorter).
RETRY_AFTER_FAILURE = dt.timedelta(hours=1)
# The first backup of a Manager without any waits this long, so start-up is not slowed.
FIRST_BACKUP_DELAY = dt.timedelta(minutes=1)


class BackupFailed(errors.PersistenceError):
    """The backup could not be made or did not pass its check."""


@dataclasses.dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    made_at: dt.datetime
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class BackupSettings:
    """Where and how often; a period of 0 turns scheduled backups off."""

    folder: Path
    period: dt.timedelta
    keep: int


def list_backups(folder: Path, database_path: Path) -> list[Backup]:
    """The finished backups of this database in `folder`, oldest first."""
    found = []
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or match["stem"] != database_path.stem or not entry.is_file():
            continue
        made_at = dt.datetime.strptime(match["stamp"], _STAMP_FORMAT).replace(tzinfo=dt.UTC)
        found.append((made_at, int(match["extra"] or 0), entry))
    found.sort()
    return [Backup(path, made_at, path.stat().st_size) for made_at, _, path in found]


def make_backup_blocking(database_path: Path, folder: Path, now: dt.datetime) -> Backup:
    """Copy the database into `folder` while others keep using it; check the copy; return it.

    The copy is written as `<name>.partial`, checked (integrity and foreign
    keys), flushed to disk and only then renamed into place, so a file with a
    backup's name is always a complete, checked database.
    """
    if not database_path.is_file():
        raise BackupFailed(f"there is no database at {database_path}")
    folder.mkdir(parents=True, exist_ok=True)
    final = _free_name(folder, database_path, now)
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    try:
        _copy_and_check(database_path, partial)
        # As private as the database itself: it holds the same data.
        shutil.copymode(database_path, partial)
        _fsync(partial)
        os.replace(partial, final)
        _fsync_directory(folder)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Backup(final, now, final.stat().st_size)


def prune_backups(folder: Path, database_path: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups, and copies left half-written; return what went."""
    removed = []
    for entry in folder.glob(f"{database_path.stem}-*{PARTIAL_SUFFIX}"):
        entry.unlink(missing_ok=True)
        removed.append(entry)
    backups = list_backups(folder, database_path)
    for backup in backups[: max(0, len(backups) - keep)]:
        backup.path.unlink(missing_ok=True)
        removed.append(backup.path)
    return removed


def _free_name(folder: Path, database_path: Path, now: dt.datetime) -> Path:
    stamp = now.astimezone(dt.UTC).strftime(_STAMP_FORMAT)
    candidate = folder / f"{database_path.stem}-{stamp}.sqlite"
    extra = 1
    while candidate.exists():
        extra += 1
        candidate = folder / f"{database_path.stem}-{stamp}-{extra}.sqlite"
    return candidate


def _copy_and_check(database_path: Path, target_path: Path) -> None:
    # Read-only: a backup never changes the database it copies.
    uri = f"file:{urllib.parse.quote(str(database_path))}?mode=ro"
    source = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        target_path.unlink(missing_ok=True)
        target = sqlite3.connect(target_path, isolation_level=None)
        try:
            # One step: the copy is one consistent snapshot, taken in a read
            # transaction, while the Manager's writer carries on (WAL).
            source.backup(target)
            # A single self-contained file: restoring it is copying one file.
            target.execute("PRAGMA journal_mode = DELETE")
            report = integrity.check_blocking(target)
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupFailed(f"cannot back up {database_path}: {error}") from error
    finally:
        source.close()
    if not report.ok:
        raise BackupFailed(f"the backup of {database_path} failed its check: {report.summary()}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; its renames are journalled by NTFS.
    _fsync(path)


BackupMaker = Callable[[Path, dt.datetime], Awaitable[Backup]]


async def run_backups(
    make_backup: BackupMaker,
    database_path: Path,
    settings: BackupSettings,
    clock: Clock,
    *,
    on_success: Callable[[Backup, list[Path]], None],
    on_failure: Callable[[str], None],
    first_delay: dt.timedelta = FIRST_BACKUP_DELAY,
) -> None:
    """Back up every `settings.period`, counted from the newest backup so restarts keep pace."""
    if settings.period <= dt.timedelta(0):
        return
    failed = False
    while True:
        try:
            newest = await asyncio.to_thread(list_backups, settings.folder, database_path)
        except OSError:
            newest = []  # Making the backup will fail too, and say why.
        now = clock.now()
        if failed:
            wait = min(settings.period, RETRY_AFTER_FAILURE)
        elif newest:
            wait = min(
                max(newest[-1].made_at + settings.period - now, first_delay), settings.period
            )
        else:
            wait = first_delay
        await clock.sleep(wait.total_seconds())
        try:
            backup = await make_backup(settings.folder, clock.now())
            removed = await asyncio.to_thread(
                prune_backups, settings.folder, database_path, settings.keep
            )
        except (OSError, sqlite3.Error, errors.PersistenceError) as error:
            failed = True
            on_failure(str(error))
            continue
        failed = False
        on_success(backup, removed)
