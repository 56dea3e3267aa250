"""One garbage collection run from the command line: `--shaman-gc-show` and `--shaman-gc-delete`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from flamenco import durations
from flamenco.manager import config as manager_config
from flamenco.shaman import gc
from flamenco.shaman.checkout import Checkouts
from flamenco.shaman.config import settings_for_manager
from flamenco.shaman.filestore import FileStore
from flamenco.shaman.links import Linker


def collect_garbage_once(
    loaded: manager_config.LoadedConfig, *, dry_run: bool, out: TextIO = sys.stdout
) -> int:
    """Run garbage collection now and print what it found; returns the exit code.

    Safe next to a serving Manager: files touched during the run are kept,
    and only upload files untouched for an hour count as abandoned.
    """
    settings = settings_for_manager(loaded)
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
    print(f"Shaman garbage collection ({title})", file=out)
    print(f"  file store:            {store.stored_root}", file=out)
    print(f"  checkouts:             {checkouts.root}", file=out)
    print(f"  max age:               {durations.format_duration(settings.gc_max_age)}", file=out)
    print(f"  old files:             {report.old_files}", file=out)
    print(f"  still used:            {report.still_used_old_files}", file=out)
    print(f"  unused:                {report.unused_old_files}", file=out)
    print(f"  symlinks checked:      {report.symlinks_checked}", file=out)
    print(
        f"  files {verb + ':':<16}{report.files_deleted} ({report.bytes_deleted} bytes)", file=out
    )
    print(f"  abandoned uploads:     {report.temp_files_deleted}", file=out)
    for path in report.deleted:
        print(f"{verb} {path}", file=out)
    return 0
