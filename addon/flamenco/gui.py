"""The Flamenco panel in the Output properties."""

from typing import Any, Dict

import bpy

from . import chains, job_settings, job_types, manager_cache, operators

_BUSY_STATUSES = {
    "SAVING",
    "INVESTIGATING",
    "REWRITING",
    "TRANSFERRING",
    "COMMUNICATING",
    "ABORTING",
}


class FLAMENCO_PT_job_submission(bpy.types.Panel):
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "output"
    bl_label = "Flamenco"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = context.scene

        column = layout.column(align=True)
        column.prop(scene, "flamenco_job_name", text="Job Name")
        column.prop(scene, "flamenco_job_priority", text="Priority")
        column.prop(scene, "flamenco_job_submit_as_paused", text="Submit as Paused")

        column = layout.column(align=True)
        column.operator("flamenco.ping_manager", text="Refresh from Manager", icon="FILE_REFRESH")
        status = context.window_manager.flamenco_status_ping
        if status:
            column.label(text=status)
        if manager_cache.cached() is None:
            column.label(text="Refresh to load the job types from the Manager", icon="INFO")
            return
        column.prop(scene, "flamenco_worker_tag", text="Worker Tag")

        column = layout.column(align=True)
        column.prop(scene, "flamenco_job_type", text="Job Type")
        self.draw_job_settings(context, column)

        layout.separator()
        self.draw_status(context, layout)

    def draw_job_settings(self, context: bpy.types.Context, layout: bpy.types.UILayout) -> None:
        job_type = job_types.active_job_type(context.scene)
        propgroup = getattr(context.scene, "flamenco_job_settings", None)
        if job_type is None or propgroup is None:
            return
        for setting in job_type.get("settings", []):
            if not job_settings.is_visible(setting) or not hasattr(propgroup, setting["key"]):
                continue
            row = layout.row(align=True)
            if not job_settings.is_editable(setting):
                row.prop(propgroup, setting["key"])
            elif job_settings.shows_link_button(setting):
                self.draw_autoeval_setting(row, propgroup, setting)
            else:
                self.draw_editable_setting(row, propgroup, setting)
            if job_settings.is_path_setting(setting):
                props = row.operator("flamenco3.explore_file_path", text="", icon="WINDOW")
                props.path = str(getattr(propgroup, setting["key"]))

    def draw_editable_setting(
        self, layout: bpy.types.UILayout, propgroup: Any, setting: Dict[str, Any]
    ) -> None:
        layout.prop(propgroup, setting["key"])
        if not setting.get("eval"):
            return
        props = layout.operator("flamenco.eval_setting", text="", icon="SCRIPTPLUGINS")
        props.setting_key = setting["key"]
        props.eval_description = job_settings.eval_description(setting)

    def draw_autoeval_setting(
        self, layout: bpy.types.UILayout, propgroup: Any, setting: Dict[str, Any]
    ) -> None:
        toggle = job_settings.autoeval_property_name(setting)
        if getattr(propgroup, toggle, False):
            # Automatic: show what the value will follow instead of an input field.
            split = layout.split(factor=0.4, align=True)
            split.alignment = "RIGHT"
            split.label(text=job_settings.label(setting))
            row = split.row(align=True)
            row.label(text=job_settings.eval_description(setting) or "Automatic")
            row.prop(propgroup, toggle, text="", icon="LINKED")
        else:
            self.draw_editable_setting(layout, propgroup, setting)
            layout.prop(propgroup, toggle, text="", icon="UNLINKED")

    def draw_status(self, context: bpy.types.Context, layout: bpy.types.UILayout) -> None:
        window_manager = context.window_manager
        status = window_manager.flamenco_bat_status
        busy = status in _BUSY_STATUSES and operators._running is not None
        if not busy:
            self.draw_submit_buttons(context, layout)
            if status in {"ABORTED", "DONE"} and window_manager.flamenco_bat_status_txt:
                layout.label(text=window_manager.flamenco_bat_status_txt)
            return
        row = layout.row(align=True)
        if status == "TRANSFERRING":
            row.prop(window_manager, "flamenco_bat_progress",
                     text=window_manager.flamenco_bat_status_txt or "Sending files")  # fmt: skip
        else:
            row.label(text=window_manager.flamenco_bat_status_txt or status.title())
        row.operator("flamenco.abort", text="", icon="CANCEL")

    def draw_submit_buttons(self, context: bpy.types.Context, layout: bpy.types.UILayout) -> None:
        job_type = job_types.active_job_type(context.scene)
        try:
            links = chains.links(job_type) if job_type else []
        except chains.ChainError as error:
            layout.label(text=str(error), icon="ERROR")
            links = []
        if links:
            layout.label(text="Submits a chain: " + " > ".join(link.name for link in links),
                         icon="LINKED")  # fmt: skip
        row = layout.row(align=True)
        props = row.operator("flamenco.submit_job", text="Submit to Flamenco",
                             icon="RENDER_ANIMATION")  # fmt: skip
        props.job_name = context.scene.flamenco_job_name
        props.ignore_version_mismatch = False
        if context.window_manager.flamenco_version_mismatch:
            props = row.operator("flamenco.submit_job", text="Force Submit", icon="ERROR")
            props.job_name = context.scene.flamenco_job_name
            props.ignore_version_mismatch = True


classes = (FLAMENCO_PT_job_submission,)
register, unregister = bpy.utils.register_classes_factory(classes)
