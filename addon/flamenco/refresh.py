"""'Refresh from Manager': fetch the Manager info, cache it and update the scene's choices."""

from typing import Tuple

import bpy

from . import job_types, manager_cache, manager_info, worker_tags
from .manager_client import ManagerClient, ManagerError


def refresh(context: bpy.types.Context, manager_url: str, token: str = "") -> Tuple[str, str]:
    """Fetch the Manager info, cache it and update the scene; returns (report, level).

    The caller passes the URL and API token from the preferences (which import this module,
    so this one cannot import them). The level suits Operator.report():
    "INFO", "WARNING" or "ERROR".
    """
    window_manager = context.window_manager
    window_manager.flamenco_status_ping = "..."
    scene = context.scene

    # Read the selections before the enum items change under them.
    old_job_type = job_types.selected_name(scene)
    old_tag = worker_tags.selected_id(scene)

    try:
        info = manager_info.fetch(ManagerClient(manager_url, token=token))
    except ManagerError as error:
        window_manager.flamenco_status_ping = error.message
        return error.message, "ERROR"

    manager_cache.store(info)

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
