"""Flamenco add-on for Blender: submit render jobs to a Flamenco Manager."""

# SPDX-License-Identifier: GPL-3.0-or-later

bl_info = {
    "name": "Flamenco",
    "author": "Flamenco in Python contributors",
    "version": (3, 9),
    "blender": (3, 4, 0),
    "description": "Submit render jobs to a Flamenco render farm",
    "location": "Properties > Output > Flamenco",
    "doc_url": "https://flamenco.blender.org/",
    "category": "System",
    "support": "COMMUNITY",
}

if "bpy" in locals():
    # Blender's "Reload Scripts" re-runs this file; pick up edited modules too.
    import importlib

    for _module in (
        manager_client,  # noqa: F821
        manager_info,  # noqa: F821
        manager_cache,  # noqa: F821
        projects,  # noqa: F821
        job_settings,  # noqa: F821
        submission,  # noqa: F821
        shaman,  # noqa: F821
        bat_loader,  # noqa: F821
        packing,  # noqa: F821
        job_types,  # noqa: F821
        worker_tags,  # noqa: F821
        refresh,  # noqa: F821
        preferences,  # noqa: F821
        operators,  # noqa: F821
        gui,  # noqa: F821
    ):
        importlib.reload(_module)

from pathlib import Path  # noqa: E402

import bpy  # noqa: E402

from . import (  # noqa: E402
    bat_loader,
    gui,
    job_settings,
    job_types,
    manager_cache,
    manager_client,
    manager_info,
    operators,
    packing,
    preferences,
    projects,
    refresh,
    shaman,
    submission,
    worker_tags,
)


def _redraw(_self: object, context: bpy.types.Context) -> None:
    if context.area is not None:
        context.area.tag_redraw()


def _default_job_name() -> str:
    return Path(bpy.data.filepath).stem if bpy.data.filepath else ""


@bpy.app.handlers.persistent
def _set_default_job_name(*_args: object) -> None:
    """An empty job name becomes the blend file's name, as upstream does."""
    scene = bpy.context.scene
    if scene is not None and not scene.flamenco_job_name:
        scene.flamenco_job_name = _default_job_name()


@bpy.app.handlers.persistent
def _clear_default_job_name(*_args: object) -> None:
    # Saving under another name should give the job that name too.
    scene = bpy.context.scene
    if scene is not None and scene.flamenco_job_name == _default_job_name():
        scene.flamenco_job_name = ""


@bpy.app.handlers.persistent
def _forget_manager_state(*_args: object) -> None:
    manager_cache.discard()
    wm = bpy.context.window_manager
    if wm is not None:
        wm.flamenco_version_mismatch = False


_WINDOW_MANAGER_PROPERTIES = (
    "flamenco_bat_status",
    "flamenco_bat_status_txt",
    "flamenco_bat_progress",
    "flamenco_version_mismatch",
    "flamenco_status_ping",
)
_SCENE_PROPERTIES = (
    "flamenco_job_name",
    "flamenco_job_priority",
    "flamenco_job_submit_as_paused",
)
_HANDLERS = (
    (bpy.app.handlers.load_pre, _forget_manager_state),
    (bpy.app.handlers.load_post, _set_default_job_name),
    (bpy.app.handlers.save_pre, _clear_default_job_name),
    (bpy.app.handlers.save_post, _set_default_job_name),
)


def _register_properties() -> None:
    wm = bpy.types.WindowManager
    wm.flamenco_bat_status = bpy.props.EnumProperty(
        name="Flamenco Status",
        items=[
            ("IDLE", "Idle", "Not doing anything"),
            ("SAVING", "Saving", "Saving the blend file"),
            ("INVESTIGATING", "Investigating", "Finding the files the blend file uses"),
            ("REWRITING", "Rewriting", "Rewriting paths in blend files"),
            ("TRANSFERRING", "Transferring", "Sending files to the farm"),
            ("COMMUNICATING", "Communicating", "Talking to the Manager"),
            ("DONE", "Done", "The job was submitted"),
            ("ABORTING", "Aborting", "Stopping the submission"),
            ("ABORTED", "Aborted", "The submission stopped"),
        ],
        default="IDLE",
        description="What the Flamenco add-on is doing",
        update=_redraw,
    )
    wm.flamenco_bat_status_txt = bpy.props.StringProperty(
        name="Flamenco Status Text", default="", update=_redraw
    )
    wm.flamenco_bat_progress = bpy.props.IntProperty(
        name="Flamenco Progress",
        default=0,
        min=0,
        max=100,
        subtype="PERCENTAGE",
        description="How much of the files has been sent",
        update=_redraw,
    )
    wm.flamenco_version_mismatch = bpy.props.BoolProperty(
        name="Flamenco Version Mismatch",
        default=False,
        description="The Manager runs another Flamenco version than this add-on",
    )
    # The result of the last refresh, shown in the preferences and the panel.
    wm.flamenco_status_ping = bpy.props.StringProperty(name="Flamenco Manager Status")
    # For scripts that chain jobs: the ID of the job submitted last (of a chain, its last job).
    wm.flamenco_last_job_id = bpy.props.StringProperty(name="Flamenco Last Job ID", default="")

    scene = bpy.types.Scene
    scene.flamenco_job_name = bpy.props.StringProperty(
        name="Flamenco Job Name",
        default="",
        description="Name of the Flamenco job; empty uses the blend file's name",
    )
    scene.flamenco_job_priority = bpy.props.IntProperty(
        name="Flamenco Job Priority",
        default=50,
        min=0,
        max=100,
        description="Priority of the job; higher numbers go first",
    )
    scene.flamenco_job_submit_as_paused = bpy.props.BoolProperty(
        name="Flamenco Job Submit as Paused",
        default=False,
        description="Submit the job paused, to start it later from the web interface",
    )


def register() -> None:
    _register_properties()
    preferences.register()
    worker_tags.register()
    job_types.register()
    operators.register()
    gui.register()
    for handlers, function in _HANDLERS:
        handlers.append(function)

    # Start from the cached Manager info, so Blender works without the Manager.
    manager_cache.discard()
    info = manager_cache.cached()
    job_types.set_available(info.job_types if info is not None else [])
    worker_tags.set_available(info.worker_tags if info is not None else None)
    scene = getattr(bpy.context, "scene", None)
    if scene is not None:
        # During start-up the context has no scene; load_post builds it then.
        job_types.update_job_type_properties(scene)


def unregister() -> None:
    for handlers, function in _HANDLERS:
        if function in handlers:
            handlers.remove(function)
    gui.unregister()
    operators.unregister()
    job_types.unregister()
    worker_tags.unregister()
    preferences.unregister()
    manager_cache.discard()
    for name in _SCENE_PROPERTIES:
        if hasattr(bpy.types.Scene, name):
            delattr(bpy.types.Scene, name)
    for name in _WINDOW_MANAGER_PROPERTIES:
        if hasattr(bpy.types.WindowManager, name):
            delattr(bpy.types.WindowManager, name)


__all__ = [
    "bat_loader",
    "job_settings",
    "manager_client",
    "manager_info",
    "packing",
    "projects",
    "refresh",
    "register",
    "shaman",
    "submission",
    "unregister",
]
