"""Shaman's own settings: where it stores files and checkouts, how it links, when it collects."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from flamenco.shaman.links import LinkMode

# Upstream's sub-directories of the shared storage.
FILE_STORE_DIRECTORY = "file-store"
CHECKOUT_DIRECTORY = "jobs"

# Upstream waits this long after start-up before the first garbage collection.
FIRST_GC_DELAY = datetime.timedelta(seconds=30)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShamanSettings:
    storage_path: Path
    link_mode: LinkMode = LinkMode.AUTO
    gc_period: datetime.timedelta = datetime.timedelta(hours=24)
    gc_max_age: datetime.timedelta = datetime.timedelta(days=31)
    # Other Manager processes may be uploading into the same store right now, so an
    # upload file only counts as abandoned once it has been left alone for a while.
    shared_with_other_processes: bool = False

    @property
    def file_store_path(self) -> Path:
        return self.storage_path / FILE_STORE_DIRECTORY

    @property
    def checkout_path(self) -> Path:
        return self.storage_path / CHECKOUT_DIRECTORY
