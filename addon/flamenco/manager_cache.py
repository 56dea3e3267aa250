"""What this Blender knows of the Manager: the last refresh's info, in memory and on disk."""

import logging
from pathlib import Path
from typing import Optional

import bpy

from . import manager_info

log = logging.getLogger(__name__)

_cached: Optional[manager_info.ManagerInfo] = None
_cache_loaded = False


def cache_path() -> Path:
    """`<Blender user config>/flamenco-manager-info.json`, where upstream keeps it too."""
    return Path(bpy.utils.user_resource("CONFIG")) / manager_info.CACHE_FILENAME


def cached() -> Optional[manager_info.ManagerInfo]:
    """What the last refresh learned, from memory or from the disk cache."""
    global _cached, _cache_loaded
    if not _cache_loaded:
        _cache_loaded = True
        try:
            _cached = manager_info.load(cache_path())
        except manager_info.LoadError as error:
            log.warning("ignoring the cached Manager info in %s: %s", cache_path(), error)
            _cached = None
    return _cached


def discard() -> None:
    """Forget the in-memory info; the next use reads the disk cache again."""
    global _cached, _cache_loaded
    _cached = None
    _cache_loaded = False


def store(info: manager_info.ManagerInfo) -> None:
    """Remember a fresh refresh's info, on disk for Blender's next start too."""
    global _cached, _cache_loaded
    try:
        manager_info.save(info, cache_path())
    except OSError as error:
        # Still usable for this session; only the next start lacks it.
        log.warning("could not write %s: %s", cache_path(), error)
    _cached, _cache_loaded = info, True
