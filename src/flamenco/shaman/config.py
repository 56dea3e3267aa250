"""Shaman's settings, and how they follow from the Manager's configuration."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from flamenco.manager import config as manager_config
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

    @property
    def file_store_path(self) -> Path:
        return self.storage_path / FILE_STORE_DIRECTORY

    @property
    def checkout_path(self) -> Path:
        return self.storage_path / CHECKOUT_DIRECTORY


def settings_for_manager(loaded: manager_config.LoadedConfig) -> ShamanSettings | None:
    """Shaman's settings from the Manager's configuration; None when Shaman is off."""
    if not manager_config.effective_shaman_enabled(loaded) or not loaded.shared_storage_path:
        return None
    shaman = loaded.config.shaman
    return ShamanSettings(
        storage_path=Path(loaded.shared_storage_path),
        link_mode=LinkMode(shaman.link_mode.value),
        gc_period=shaman.garbage_collect.period,
        gc_max_age=shaman.garbage_collect.max_age,
    )
