"""Add-on preferences: the Manager URL, its status, the job storage and the project finder."""

from pathlib import Path

import bpy

from . import manager_cache, projects, refresh
from .manager_client import ManagerClient

ADDON_MODULE = __package__ or "flamenco"


def _manager_url_changed(prefs: "FlamencoPreferences", context: bpy.types.Context) -> None:
    # A new Manager: forget what the old one said and ask the new one, as upstream does.
    manager_cache.discard()
    context.window_manager.flamenco_status_ping = ""
    refresh.refresh(context, prefs.manager_url)
    _redraw_everything(context)


def _redraw_everything(context: bpy.types.Context) -> None:
    window_manager = context.window_manager
    if window_manager is None:
        return
    for window in window_manager.windows:
        for area in window.screen.areas:
            area.tag_redraw()


def _job_storage(prefs: "FlamencoPreferences") -> str:
    info = manager_cache.cached()
    if info is None:
        return "Unknown, refresh first"
    return info.job_storage or "Not configured on the Manager"


_PROJECT_FINDER_ITEMS = [
    (key, finder.label, finder.description) for key, finder in projects.FINDERS.items()
]


class FlamencoPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_MODULE

    manager_url: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Manager URL",
        description="Address of the Flamenco Manager",
        default="http://localhost:8080/",
        update=_manager_url_changed,
    )
    project_finder: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Project Finder",
        description="How to find the top folder of your project, which is packed for the farm",
        items=_PROJECT_FINDER_ITEMS,
        default=projects.DEFAULT_FINDER,
    )
    user_email: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Email",
        description=(
            "Your email address, sent with each job so that the Manager can tell you "
            "when it is done or has failed (if the Manager sends mail)"
        ),
        default="",
    )
    # Read-only (it has a getter and no setter): the Manager decides it.
    job_storage_for_gui: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Job Storage",
        description="Where blend files are stored for the farm; set on the Manager",
        subtype="DIR_PATH",
        options={"SKIP_SAVE"},
        get=_job_storage,
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        column = layout.column()

        row = column.row(align=True)
        row.prop(self, "manager_url")
        row.operator("flamenco.ping_manager", text="", icon="FILE_REFRESH")

        info = manager_cache.cached()
        status = context.window_manager.flamenco_status_ping
        if status:
            _text_row(column, status)
        elif info is None:
            _text_row(column, "Press the refresh button to connect to the Manager")
        if info is not None and info.shaman_enabled:
            _text_row(column, "Shaman enabled: files are uploaded to the Manager")
        column.prop(self, "job_storage_for_gui")

        column = layout.column(align=True)
        column.prop(self, "user_email")
        column.prop(self, "project_finder")
        if bpy.data.filepath:
            try:
                _text_row(column, "Project: %s" % self.project_root())
            except ValueError as error:
                _text_row(column, str(error))

    def project_root(self) -> Path:
        return projects.project_root(Path(bpy.data.filepath), self.project_finder)


def _text_row(layout: bpy.types.UILayout, text: str) -> None:
    split = layout.split(factor=0.4)
    split.label(text="")
    split.label(text=text)


def get(context: bpy.types.Context) -> FlamencoPreferences:
    prefs = context.preferences.addons[ADDON_MODULE].preferences
    assert isinstance(prefs, FlamencoPreferences), type(prefs)
    return prefs


def manager_url(context: bpy.types.Context) -> str:
    return str(get(context).manager_url)


def client(context: bpy.types.Context) -> ManagerClient:
    """A client for the Manager in the preferences; ManagerError if its URL is unusable."""
    return ManagerClient(manager_url(context))


classes = (FlamencoPreferences,)
register, unregister = bpy.utils.register_classes_factory(classes)
