"""Operators: refresh from the Manager, evaluate a setting, submit a job, abort, open a path."""

import logging
import os
import platform
import queue
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

import bpy

from . import (
    chains,
    job_settings,
    job_types,
    manager_cache,
    manager_info,
    packing,
    preferences,
    refresh,
    submission,
    worker_tags,
)
from .manager_client import ManagerError

log = logging.getLogger(__name__)

# Only one submission can pack at a time; the abort operator reaches it here.
_running: Optional["packing.PackJob"] = None


class FLAMENCO_OT_ping_manager(bpy.types.Operator):
    bl_idname = "flamenco.ping_manager"
    bl_label = "Flamenco: Refresh from Manager"
    bl_description = (
        "Connect to the Manager and fetch its version, job storage, job types and worker tags"
    )
    bl_options = {"REGISTER"}  # noqa: RUF012 -- Blender reads a plain set

    def execute(self, context: bpy.types.Context) -> Set[str]:
        report, level = refresh.refresh(context, preferences.manager_url(context))
        self.report({level}, report)
        return {"FINISHED"} if level != "ERROR" else {"CANCELLED"}


class FLAMENCO_OT_eval_setting(bpy.types.Operator):
    bl_idname = "flamenco.eval_setting"
    bl_label = "Flamenco: Set to Automatic Value"
    bl_description = "Set this setting to its automatic value"
    bl_options = {"REGISTER", "INTERNAL", "UNDO"}  # noqa: RUF012 -- Blender reads a plain set

    setting_key: bpy.props.StringProperty(name="Setting Key")  # type: ignore[valid-type]
    eval_description: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Description", options={"HIDDEN"}
    )

    @classmethod
    def description(cls, context: bpy.types.Context, properties: Any) -> str:
        if not properties.eval_description:
            return ""  # Blender then shows bl_description.
        return "Set to: %s" % properties.eval_description

    def execute(self, context: bpy.types.Context) -> Set[str]:
        propgroup = getattr(context.scene, "flamenco_job_settings", None)
        if propgroup is None:
            self.report({"ERROR"}, "This scene has no Flamenco job type selected")
            return {"CANCELLED"}
        try:
            propgroup.eval_and_assign(context, self.setting_key)
        except job_settings.SettingEvalError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}


class FLAMENCO_OT_abort(bpy.types.Operator):
    bl_idname = "flamenco.abort"
    bl_label = "Flamenco: Abort Submission"
    bl_description = "Stop sending files to the farm; no job is submitted"
    bl_options = {"REGISTER"}  # noqa: RUF012 -- Blender reads a plain set

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _running is not None

    def execute(self, context: bpy.types.Context) -> Set[str]:
        if _running is not None:
            _running.abort()
            context.window_manager.flamenco_bat_status = "ABORTING"
        return {"FINISHED"}


class FLAMENCO_OT_submit_job(bpy.types.Operator):
    bl_idname = "flamenco.submit_job"
    bl_label = "Flamenco: Submit Job"
    bl_description = "Send the blend file and its job settings to the Flamenco farm"
    bl_options = {"REGISTER"}  # noqa: RUF012 -- Blender reads a plain set

    job_name: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Job Name",
        description="Name of the job; empty uses the scene's Flamenco job name",
    )
    ignore_version_mismatch: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Ignore Version Mismatch",
        description="Submit even when the Manager runs another Flamenco version",
        default=False,
    )
    depends_on: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Depends On",
        description=(
            "IDs of jobs (separated by commas) that this job waits for; the Manager "
            "starts it once they are all completed"
        ),
        default="",
    )

    TIMER_PERIOD = 0.1  # seconds between looks at the pack thread

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if job_types.active_job_type(context.scene) is None:
            cls.poll_message_set("Select a job type first")
            return False
        if _running is not None:
            cls.poll_message_set("Another submission is still sending files")
            return False
        return True

    # -- entry points -------------------------------------------------------

    def execute(self, context: bpy.types.Context) -> Set[str]:
        """Blocking submission, for scripts: returns once the job is submitted or failed."""
        self._init_state()
        pack_job = self._start(context)
        if pack_job is None:
            return self._finish(context)
        while True:
            try:
                message = pack_job.messages.get(timeout=1.0)
            except queue.Empty:
                if not pack_job.is_alive() and pack_job.messages.empty():
                    self._fail(context, "The packing stopped without a result")
                    return self._finish(context)
                continue
            if self._handle(context, message):
                return self._finish(context)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> Set[str]:
        self._init_state()
        pack_job = self._start(context)
        if pack_job is None:
            return self._finish(context)
        self.report({"INFO"}, "Sending files to the farm; press Esc to abort")
        window_manager = context.window_manager
        self._timer = window_manager.event_timer_add(self.TIMER_PERIOD, window=context.window)
        window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> Set[str]:
        pack_job = _running
        if pack_job is None:
            return self._finish(context)
        if event.type == "ESC" and event.value == "PRESS" and not pack_job.abort_requested:
            pack_job.abort()
            context.window_manager.flamenco_bat_status = "ABORTING"
            context.window_manager.flamenco_bat_status_txt = "Aborting, please wait"
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        # Handle what has arrived, but hand control back to Blender quickly.
        deadline = time.monotonic() + 0.8 * self.TIMER_PERIOD
        while time.monotonic() < deadline:
            try:
                message = pack_job.messages.get_nowait()
            except queue.Empty:
                break
            if self._handle(context, message):
                return self._finish(context)
        return {"RUNNING_MODAL"}

    # -- the steps ------------------------------------------------------------

    def _init_state(self) -> None:
        self._timer: Any = None
        self._job: Dict[str, Any] = {}
        self._job_type: Dict[str, Any] = {}
        self._missing: List[str] = []
        self._succeeded = False
        # For a job type that stands for a chain: each job with its type and link.
        self._chain: List[Any] = []

    def _start(self, context: bpy.types.Context) -> Optional["packing.PackJob"]:
        """Everything up to the file transfer; returns the pack thread, or None when done."""
        global _running
        window_manager = context.window_manager
        window_manager.flamenco_bat_status = "COMMUNICATING"
        window_manager.flamenco_bat_status_txt = "Checking the Manager"
        window_manager.flamenco_bat_progress = 0

        info = self._check_manager(context)
        if info is None:
            return None
        if not bpy.data.filepath:
            self._fail(context, "Save your blend file before submitting it to Flamenco")
            return None
        blendfile = self._save_if_needed(context)
        if blendfile is None:
            return None

        job_type = job_types.active_job_type(context.scene)
        if job_type is None:
            self._fail(context, "Select a job type first")
            return None
        self._job_type = job_type
        job_name = self.job_name or context.scene.flamenco_job_name or blendfile.stem
        try:
            project_root = preferences.get(context).project_root()
        except ValueError as error:
            self._fail(context, "Cannot find the project folder: %s" % error)
            return None
        if not self._build_job(context, job_name, project_root):
            return None
        if not self._check_job(context):
            return None

        method = submission.transfer_method(blendfile, info.job_storage, info.shaman_enabled)
        log.info("submitting %s: %s", blendfile, method)
        if method == submission.IN_PLACE:
            # Already where the Workers can read it: no packing, no copy.
            self._submit(context, submission.farm_path(blendfile), None)
            return None

        try:
            client = preferences.client(context)
        except ManagerError as error:
            self._fail(context, error.message)
            return None
        if method == submission.SHAMAN:
            pack_job = packing.PackJob(
                blendfile,
                project_root,
                submission.SHAMAN,
                client=client,
                checkout_path=submission.shaman_checkout_path(job_name),
            )
        else:
            if not info.job_storage:
                self._fail(context, "The Manager has no shared storage configured")
                return None
            pack_directory = Path(info.job_storage) / submission.pack_directory_name(job_name)
            pack_job = packing.PackJob(
                blendfile, project_root, submission.COPY, pack_directory=pack_directory
            )
        window_manager.flamenco_bat_status = "INVESTIGATING"
        window_manager.flamenco_bat_status_txt = "Finding the files the blend file uses"
        _running = pack_job
        pack_job.start()
        return pack_job

    def _check_manager(self, context: bpy.types.Context) -> Optional[manager_info.ManagerInfo]:
        """Refresh (so the job storage and job types are current) and compare versions."""
        report, level = refresh.refresh(context, preferences.manager_url(context))
        if level == "ERROR":
            self._fail(context, report)
            return None
        if level == "WARNING":
            self._fail(context, report)
            return None
        info = manager_cache.cached()
        if info is None:
            self._fail(context, "Nothing is known about the Manager; press Refresh")
            return None
        window_manager = context.window_manager
        if not self.ignore_version_mismatch and not manager_info.versions_match(
            manager_info.ADDON_VERSION, info.short_version
        ):
            window_manager.flamenco_version_mismatch = True
            self._fail(
                context,
                "The Manager runs Flamenco %s and this add-on is for %s; update the add-on "
                "from the Manager, or use Force Submit"
                % (info.short_version or "unknown", manager_info.ADDON_VERSION),
            )
            return None
        # Each forced submission is a deliberate choice; the next one asks again.
        window_manager.flamenco_version_mismatch = False
        return info

    def _save_if_needed(self, context: bpy.types.Context) -> Optional[Path]:
        if not bpy.data.is_dirty:
            return Path(bpy.data.filepath)
        context.window_manager.flamenco_bat_status = "SAVING"
        experimental = getattr(context.preferences, "experimental", None)
        old_direct = getattr(experimental, "use_all_linked_data_direct", None)
        try:
            if old_direct is not None:
                # BAT only follows directly linked data; Blender versions with this
                # option would otherwise save some links as indirect only.
                experimental.use_all_linked_data_direct = True
            result = bpy.ops.wm.save_mainfile()
        except RuntimeError as error:
            self._fail(context, "Could not save the blend file: %s" % error)
            return None
        finally:
            if old_direct is not None:
                experimental.use_all_linked_data_direct = old_direct
        if "FINISHED" not in result:
            self._fail(context, "Could not save the blend file")
            return None
        return Path(bpy.data.filepath)

    def _build_job(self, context: bpy.types.Context, job_name: str, project_root: Path) -> bool:
        scene = context.scene
        propgroup = getattr(scene, "flamenco_job_settings", None)
        if propgroup is None:
            self._fail(context, "The job type's settings are missing; press Refresh")
            return False
        # The job name is part of eval expressions (the render output path).
        if scene.flamenco_job_name != job_name:
            scene.flamenco_job_name = job_name
        try:
            settings = propgroup.submission_settings(context)
        except job_settings.SettingEvalError as error:
            self._fail(context, str(error))
            return False
        self._job = submission.build_job(
            name=job_name,
            job_type=self._job_type,
            priority=scene.flamenco_job_priority,
            settings=settings,
            submit_as_paused=scene.flamenco_job_submit_as_paused,
            worker_tag=worker_tags.selected_id(scene),
            submitter_platform=manager_info.submitter_platform(),
            metadata=submission.default_metadata(
                blender_version=bpy.app.version_string,
                project=project_root,
                user_email=preferences.get(context).user_email,
            ),
        )
        depends_on = chains.parse_job_ids(self.depends_on)
        try:
            self._chain = self._chain_jobs(context, propgroup, settings, job_name)
        except (chains.ChainError, job_settings.SettingEvalError) as error:
            self._fail(context, str(error))
            return False
        if depends_on:
            for job, _job_type, link in self._chain or [(self._job, None, None)]:
                if link is None or not link.depends_on:
                    job["depends_on"] = list(depends_on)
        return True

    def _chain_jobs(
        self, context: bpy.types.Context, propgroup: Any, values: Dict[str, Any], job_name: str
    ) -> List[Any]:
        """The jobs a chain job type stands for, or [] for a plain job type."""
        links = chains.links(self._job_type)
        jobs = []
        for link in links:
            member_type = chains.find_job_type(job_types.available(), link.job_type)
            if member_type is None:
                raise chains.ChainError(
                    "The chain needs job type %r, which the Manager does not offer" % link.job_type
                )
            member_settings = chains.member_settings(
                member_type,
                values,
                lambda setting: job_settings.evaluate(setting, propgroup.eval_namespace(context)),
            )
            job = dict(self._job)
            job.update(
                name=chains.job_name(job_name, link),
                type=link.job_type,
                settings=member_settings,
                metadata=dict(self._job["metadata"]),
            )
            job.pop("type_etag", None)
            if member_type.get("etag"):
                job["type_etag"] = str(member_type["etag"])
            jobs.append((job, member_type, link))
        return jobs

    def _check_job(self, context: bpy.types.Context) -> bool:
        """Ask the Manager whether it would accept the job, before sending any files."""
        for job, job_type, _link in self._chain or [(self._job, self._job_type, None)]:
            submission.set_blendfile(job, job_type, submission.CHECK_BLENDFILE)
            try:
                # Only the IDs a script gave are in depends_on yet: the Manager checks them.
                preferences.client(context).submit_job_check(job)
            except ManagerError as error:
                self._fail(context, submission.job_error_message(error.status, error.detail))
                return False
        return True

    def _handle(self, context: bpy.types.Context, message: Any) -> bool:
        """Apply one message from the pack thread; True when the submission is over."""
        window_manager = context.window_manager
        if isinstance(message, packing.Status):
            window_manager.flamenco_bat_status = message.status
            window_manager.flamenco_bat_status_txt = message.text
        elif isinstance(message, packing.Progress):
            window_manager.flamenco_bat_progress = max(0, min(100, message.percent))
            if message.text:
                window_manager.flamenco_bat_status_txt = message.text
        elif isinstance(message, packing.MissingFile):
            self._missing.append(message.path)
            self.report({"WARNING"}, "Missing file: %s" % message.path)
        elif isinstance(message, packing.Done):
            self._missing = list(message.missing_files)
            self._submit(context, message.blendfile_on_farm, message.shaman_checkout_id)
            return True
        elif isinstance(message, packing.Aborted):
            window_manager.flamenco_bat_status = "ABORTED"
            window_manager.flamenco_bat_status_txt = "Submission aborted"
            self.report({"WARNING"}, "Flamenco job submission aborted")
            return True
        elif isinstance(message, packing.Failed):
            self._fail(context, message.message)
            return True
        return False

    def _submit(
        self, context: bpy.types.Context, blendfile_on_farm: str, checkout_id: Optional[str]
    ) -> None:
        window_manager = context.window_manager
        window_manager.flamenco_bat_status = "COMMUNICATING"
        window_manager.flamenco_bat_status_txt = "Submitting the job"
        submitted_ids: List[str] = []
        for job, job_type, link in self._chain or [(self._job, self._job_type, None)]:
            submission.set_blendfile(job, job_type, blendfile_on_farm)
            if checkout_id:
                submission.set_shaman_checkout(job, checkout_id)
            if link is not None and link.depends_on:
                job["depends_on"] = [submitted_ids[index] for index in link.depends_on]
            try:
                submitted = preferences.client(context).submit_job(job)
            except ManagerError as error:
                done = " after submitting %d of the chain's jobs" % len(submitted_ids)
                message = submission.job_error_message(error.status, error.detail)
                self._fail(context, message + (done if submitted_ids else ""))
                return
            submitted_ids.append(str(submitted.get("id", "")))
            log.info("job %s submitted as %s", job["name"], submitted.get("id"))
        self._succeeded = True
        window_manager.flamenco_last_job_id = submitted_ids[-1]
        window_manager.flamenco_bat_status = "DONE"
        if self._chain:
            window_manager.flamenco_bat_status_txt = "Chain of %d jobs submitted" % len(self._chain)
        else:
            window_manager.flamenco_bat_status_txt = "Job %s submitted" % submitted.get(
                "name", self._job["name"]
            )
        if self._missing:
            shown = ", ".join(self._missing[:5])
            more = " and %d more" % (len(self._missing) - 5) if len(self._missing) > 5 else ""
            self.report(
                {"WARNING"},
                "Job %s submitted, but %d files are missing: %s%s"
                % (self._job["name"], len(self._missing), shown, more),
            )
        else:
            self.report({"INFO"}, "Job %s submitted" % self._job["name"])

    def _fail(self, context: bpy.types.Context, message: str) -> None:
        context.window_manager.flamenco_bat_status = "ABORTED"
        context.window_manager.flamenco_bat_status_txt = message
        self.report({"ERROR"}, message)

    def _finish(self, context: bpy.types.Context) -> Set[str]:
        global _running
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        if _running is not None:
            _running.join(timeout=10.0)
            _running = None
        _redraw_properties(context)
        return {"FINISHED"} if self._succeeded else {"CANCELLED"}


def _redraw_properties(context: bpy.types.Context) -> None:
    window_manager = context.window_manager
    if window_manager is None:
        return
    for window in window_manager.windows:
        for area in window.screen.areas:
            if area.type == "PROPERTIES":
                area.tag_redraw()


class FLAMENCO3_OT_explore_file_path(bpy.types.Operator):
    bl_idname = "flamenco3.explore_file_path"
    bl_label = "Open in File Browser"
    bl_description = (
        "Open this folder, or the nearest existing folder above it, in the file browser"
    )

    path: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Path", description="Path to open", subtype="DIR_PATH"
    )

    def execute(self, context: bpy.types.Context) -> Set[str]:
        if not self.path:
            self.report({"ERROR"}, "There is no path to open")
            return {"CANCELLED"}
        target = job_settings.blend_abspath(self.path, bpy.data.filepath)
        while not target.exists() and target.parent != target:
            target = target.parent
        if not target.exists():
            self.report({"ERROR"}, "Neither %s nor any folder above it exists" % self.path)
            return {"CANCELLED"}
        if target.is_file():
            target = target.parent
        try:
            _open_in_file_browser(target)
        except OSError as error:
            self.report({"ERROR"}, "Could not open %s: %s" % (target, error))
            return {"CANCELLED"}
        return {"FINISHED"}


def _open_in_file_browser(path: Path) -> None:
    system = platform.system()
    if system == "Windows":
        os.startfile(str(path))  # type: ignore[attr-defined]  # Windows only
    elif system == "Darwin":
        subprocess.Popen(["open", str(path)])
    else:
        subprocess.Popen(["xdg-open", str(path)])


classes = (
    FLAMENCO_OT_ping_manager,
    FLAMENCO_OT_eval_setting,
    FLAMENCO_OT_abort,
    FLAMENCO_OT_submit_job,
    FLAMENCO3_OT_explore_file_path,
)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()


def unregister() -> None:
    if _running is not None:
        _running.abort()
    _unregister()
