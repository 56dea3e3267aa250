"""Garbage collection: deleting stored files that are old and that no checkout uses.

A stored file goes when all of these hold:

- its modification time is older than `maxAge` (checkouts and requirement
  checks touch the files they use, so this is "last used");
- nothing under the checkout directory refers to it: no symbolic link resolves
  to it and no hard link shares it, compared by device and inode number, so
  differently spelled paths to the same file cannot fool it;
- it did not change between the scan and its deletion (a checkout made during
  the run touches it first, see FileStore.touch_stored_blocking).

It also removes upload temporary files that were abandoned: not in flight in
this process and not written to for STALE_UPLOAD_SECONDS.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from flamenco.shaman.filestore import FileStore

logger = logging.getLogger(__name__)

# An upload whose temporary file saw no data for this long is dead: clients
# time out long before. Long enough for a `--shaman-gc-delete` run next to a
# serving Manager to leave its slow uploads alone.
STALE_UPLOAD_SECONDS = 3600.0


class Stopped(Exception):
    """Garbage collection was asked to stop before it finished."""


@dataclasses.dataclass(slots=True)
class GarbageReport:
    """What one garbage collection run found and did (or, in a dry run, would do)."""

    dry_run: bool
    age_threshold: float
    old_files: int = 0
    still_used_old_files: int = 0
    unused_old_files: int = 0
    symlinks_checked: int = 0
    files_deleted: int = 0
    bytes_deleted: int = 0
    deleted: list[Path] = dataclasses.field(default_factory=list)
    temp_files_deleted: int = 0
    temp_bytes_deleted: int = 0

    @property
    def files_not_deleted(self) -> int:
        return self.old_files - self.files_deleted

    def log_fields(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "num_old_files": self.old_files,
            "num_unused_old_files": self.unused_old_files,
            "num_still_used_old_files": self.still_used_old_files,
            "num_symlinks_checked": self.symlinks_checked,
            "num_files_deleted": self.files_deleted,
            "num_files_not_deleted": self.files_not_deleted,
            "freed_bytes": self.bytes_deleted,
            "num_temp_files_deleted": self.temp_files_deleted,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class _Candidate:
    mtime_ns: int
    size: int


def collect_garbage_blocking(
    store: FileStore,
    checkout_root: Path,
    *,
    max_age_seconds: float,
    now: float,
    dry_run: bool,
    in_flight: frozenset[Path] = frozenset(),
    stop: threading.Event | None = None,
) -> GarbageReport:
    """One garbage collection run; raises Stopped when `stop` is set meanwhile."""
    stop = stop or threading.Event()
    report = GarbageReport(dry_run=dry_run, age_threshold=now - max_age_seconds)
    logger.info(
        "shaman: performing garbage collection on storage",
        extra={
            "dry_run": dry_run,
            "file_store": str(store.stored_root),
            "checkout_path": str(checkout_root),
            "max_age_seconds": max_age_seconds,
        },
    )
    _remove_stale_temp_files(store, report, now - STALE_UPLOAD_SECONDS, in_flight, stop)

    candidates, hard_linked = _find_old_files(store, report.age_threshold, stop)
    report.old_files = len(candidates) + hard_linked
    if not candidates:
        report.still_used_old_files = hard_linked
        logger.info(
            "shaman: found no old files during garbage collection", extra=report.log_fields()
        )
        return report

    by_inode = {identity: path for path, (identity, _) in candidates.items()}
    for identity in _identities_in_use(checkout_root, report, stop):
        path = by_inode.pop(identity, None)
        if path is not None:
            del candidates[path]
    report.unused_old_files = len(candidates)
    report.still_used_old_files = report.old_files - report.unused_old_files

    for path, (_, candidate) in sorted(candidates.items()):
        _check(stop)
        try:
            size = store.remove_unused_blocking(path, candidate.mtime_ns, dry_run=dry_run)
        except OSError as error:
            logger.error(
                "shaman: unable to delete unused file",
                extra={"file": str(path), "error": str(error)},
            )
            continue
        if size is None:
            logger.info("shaman: not deleting recently touched file", extra={"file": str(path)})
            continue
        report.files_deleted += 1
        report.bytes_deleted += size
        report.deleted.append(path)
        logger.debug(
            "shaman: would delete unused file" if dry_run else "shaman: deleted unused file",
            extra={"file": str(path), "size": size},
        )
    logger.info("shaman: garbage collection done", extra=report.log_fields())
    return report


def remove_temp_files_blocking(
    store: FileStore, *, older_than: float, in_flight: frozenset[Path]
) -> int:
    """Remove upload temporary files not in flight and not written since `older_than`."""
    report = GarbageReport(dry_run=False, age_threshold=older_than)
    _remove_stale_temp_files(store, report, older_than, in_flight, threading.Event())
    return report.temp_files_deleted


def _remove_stale_temp_files(
    store: FileStore,
    report: GarbageReport,
    older_than: float,
    in_flight: frozenset[Path],
    stop: threading.Event,
) -> None:
    for path, info in list(store.temp_files_blocking()):
        _check(stop)
        if path in in_flight or info.st_mtime >= older_than:
            continue
        if not report.dry_run:
            store.remove_temp_blocking(path)
        report.temp_files_deleted += 1
        report.temp_bytes_deleted += info.st_size
    if report.temp_files_deleted:
        logger.info(
            "shaman: removed abandoned upload files",
            extra={"dry_run": report.dry_run, "num_temp_files": report.temp_files_deleted},
        )


Identity = tuple[int, int]


def _find_old_files(
    store: FileStore, threshold: float, stop: threading.Event
) -> tuple[dict[Path, tuple[Identity, _Candidate]], int]:
    """Old stored files that may be unused, and the number of old ones hard-linked somewhere."""
    old: dict[Path, tuple[Identity, _Candidate]] = {}
    hard_linked = 0
    for path, listed in store.stored_files_blocking():
        _check(stop)
        if listed.st_mtime >= threshold:
            continue
        try:
            # Not the listing's stat: on Windows that has no inode or link count.
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_nlink > 1:
            hard_linked += 1  # Hard-linked into a checkout: in use, whatever its age.
            continue
        old[path] = ((info.st_dev, info.st_ino), _Candidate(info.st_mtime_ns, info.st_size))
    return old, hard_linked


def _identities_in_use(
    checkout_root: Path, report: GarbageReport, stop: threading.Event
) -> Iterator[Identity]:
    """Device and inode of every file that something under the checkout root refers to."""
    pending = [checkout_root]
    while pending:
        _check(stop)
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                if entry.is_symlink():
                    report.symlinks_checked += 1
                info = os.stat(entry.path)
            except OSError:
                continue  # A dangling link, or removed meanwhile: it keeps nothing alive.
            yield info.st_dev, info.st_ino


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise Stopped()
