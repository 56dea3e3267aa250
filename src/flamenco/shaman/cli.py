"""One garbage collection run from the command line: `--shaman-gc-show` and `--shaman-gc-delete`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from flamenco import durations
from flamenco.shaman import gc
from flamenco.shaman.checkout import Checkouts
from flamenco.shaman.config import ShamanSettings
from flamenco.shaman.filestore import FileStore
from flamenco.shaman.links import Linker


def collect_garbage_once(
    settings: ShamanSettings | None, *, dry_run: bool, out: TextIO = sys.stdout
) -> int:
    """Run garbage collection now and print what it found; returns the exit code.

    Safe next to a serving Manager: files touched during the run are kept,
    and only upload files untouched for an hour count as abandoned.
    """
    if settings is None:
        print(
            "flamenco-manager: Shaman is not enabled (shaman.enabled, shared_storage_path), "
            "so there is nothing to collect",
            file=sys.stderr,
        )
        return 2
    store = FileStore(settings.file_store_path)
    checkouts = Checkouts(settings.checkout_path, store, Linker(settings.link_mode))
    report = gc.collect_garbage_blocking(
        store,
        checkouts.root,
        max_age_seconds=settings.gc_max_age.total_seconds(),
        now=time.time(),
        dry_run=dry_run,
    )
    verb = "would delete" if dry_run else "deleted"
    title = "dry run, nothing deleted" if dry_run else "unused files deleted"
    rows = [
        ("file store", str(store.stored_root)),
        ("checkouts", str(checkouts.root)),
        ("max age", durations.format_duration(settings.gc_max_age)),
        ("old files", str(report.old_files)),
        ("still used", str(report.still_used_old_files)),
        ("unused", str(report.unused_old_files)),
        ("symlinks checked", str(report.symlinks_checked)),
        (f"files {verb}", f"{report.files_deleted} ({report.bytes_deleted} bytes)"),
        ("abandoned uploads", str(report.temp_files_deleted)),
    ]
    print(f"Shaman garbage collection ({title})", file=out)
    for label, value in rows:
        print(f"  {label + ':':<22} {value}", file=out)
    for path in report.deleted:
        print(f"{verb} {path}", file=out)
    return 0
