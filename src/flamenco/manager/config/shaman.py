"""Shaman's settings as the Manager's configuration sets them."""

from __future__ import annotations

from pathlib import Path

from flamenco.manager.config.paths import LoadedConfig, effective_shaman_enabled
from flamenco.shaman.config import ShamanSettings
from flamenco.shaman.links import LinkMode


def shaman_settings(loaded: LoadedConfig) -> ShamanSettings | None:
    """Shaman's settings from the Manager's configuration; None when Shaman is off."""
    if not effective_shaman_enabled(loaded) or not loaded.shared_storage_path:
        return None
    shaman = loaded.config.shaman
    return ShamanSettings(
        storage_path=Path(loaded.shared_storage_path),
        link_mode=LinkMode(shaman.link_mode.value),
        gc_period=shaman.garbage_collect.period,
        gc_max_age=shaman.garbage_collect.max_age,
        # Only PostgreSQL lets several Manager processes serve one farm.
        shared_with_other_processes=loaded.uses_postgresql,
    )
