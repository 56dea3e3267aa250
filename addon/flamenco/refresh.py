"""The Manager info in Blender: the disk cache, the API client, and "Refresh from Manager"."""

import logging
from pathlib import Path
from typing import Optional, Tuple

import bpy

from . import job_types, manager_info, preferences, worker_tags
from .manager_client import ManagerClient, ManagerError

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


def client(context: bpy.types.Context, timeout: Optional[float] = None) -> ManagerClient:
    """A client for the Manager in the preferences; ManagerError if its URL is unusable."""
    url = preferences.manager_url(context)
    if timeout is None:
        return ManagerClient(url)
    return ManagerClient(url, timeout=timeout)


def refresh(context: bpy.types.Context) -> Tuple[str, str]:
    """Fetch the Manager info, cache it and update the scene; returns (report, level).

    The level suits Operator.report(): "INFO", "WARNING" or "ERROR".
    """
    global _cached, _cache_loaded
    window_manager = context.window_manager
    window_manager.flamenco_status_ping = "..."
    scene = context.scene

    # Read the selections before the enum items change under them.
    old_job_type = job_types.selected_name(scene)
    old_tag = worker_tags.selected_id(scene)

    try:
        info = manager_info.fetch(client(context))
    except ManagerError as error:
        window_manager.flamenco_status_ping = error.message
        return error.message, "ERROR"

    try:
        manager_info.save(info, cache_path())
    except OSError as error:
        # Still usable for this session; only the next start lacks it.
        log.warning("could not write %s: %s", cache_path(), error)
    _cached, _cache_loaded = info, True

    report = "%s version %s found" % (info.manager_name, info.manager_version)
    level = "INFO"
    job_types.set_available(info.job_types)
    worker_tags.set_available(info.worker_tags)

    if scene is not None:
        if old_job_type and not job_types.select(scene, old_job_type):
            report = "Job type %r is no longer available, choose another one" % old_job_type
            level = "WARNING"
        elif old_job_type:
            job_types.update_job_type_properties(scene)
        if old_tag and not worker_tags.select(scene, old_tag):
            report = "Worker tag %r is no longer available, choose another one" % old_tag
            level = "WARNING"

    window_manager.flamenco_status_ping = report
    return report, level
