"""The job type enum and the job settings property group, built from the Manager's job types."""

import contextlib
import logging
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import bpy

from . import job_settings, manager_cache

log = logging.getLogger(__name__)

NOT_SELECTED = "-"

_available: List[Dict[str, Any]] = []
# Blender keeps only pointers to the strings of dynamic enum items, so the list
# must live as long as the property (a known Blender pitfall).
_enum_items: List[Tuple[str, str, str, str, int]] = []
_settings_class: Optional[type] = None


def _enum_number(identifier: str) -> int:
    """A stable enum number, so a saved selection survives the Manager listing types in
    another order (Blender stores the number, not the name)."""
    return (zlib.crc32(identifier.encode("utf-8")) & 0x7FFFFFFE) + 1


def set_available(job_types: List[Dict[str, Any]]) -> None:
    global _available
    _available = list(job_types)
    _enum_items.clear()
    _enum_items.append((NOT_SELECTED, "Select a Job Type", "", "NONE", 0))
    for job_type in _available:
        name = str(job_type["name"])
        _enum_items.append(
            (
                name,
                str(job_type.get("label") or name),
                str(job_type.get("description") or ""),
                "NONE",
                _enum_number(name),
            )
        )


def are_available() -> bool:
    return bool(_available)


def available() -> List[Dict[str, Any]]:
    """Every job type the Manager offers, as last refreshed."""
    return list(_available)


def _job_type_items(_self: Any, _context: Any) -> List[Tuple[str, str, str, str, int]]:
    if not _enum_items:
        set_available([])
    return _enum_items


def selected_name(scene: Optional[bpy.types.Scene]) -> str:
    if scene is None:
        return ""
    name = str(getattr(scene, "flamenco_job_type", "") or "")
    return "" if name == NOT_SELECTED else name


def active_job_type(scene: Optional[bpy.types.Scene]) -> Optional[Dict[str, Any]]:
    name = selected_name(scene)
    for job_type in _available:
        if job_type["name"] == name:
            return job_type
    return None


def select(scene: bpy.types.Scene, name: str) -> bool:
    """Select a job type by name; False (and no selection) when it does not exist."""
    try:
        scene.flamenco_job_type = name
    except TypeError:
        # Not an item any more: forget the stored value. property_unset() works in
        # every Blender; `del scene[...]` stopped reaching bpy.props in Blender 5.
        scene.property_unset("flamenco_job_type")
        clear_settings_class()
        return False
    return True


def _job_type_changed(scene: bpy.types.Scene, context: bpy.types.Context) -> None:
    update_job_type_properties(scene, context)


def clear_settings_class() -> None:
    global _settings_class
    if hasattr(bpy.types.Scene, "flamenco_job_settings"):
        del bpy.types.Scene.flamenco_job_settings
    if _settings_class is not None:
        # It may be unregistered already, say by a reload.
        with contextlib.suppress(RuntimeError):
            bpy.utils.unregister_class(_settings_class)
        _settings_class = None


def update_job_type_properties(
    scene: bpy.types.Scene, context: Optional[bpy.types.Context] = None
) -> None:
    """(Re)build `scene.flamenco_job_settings` for the scene's job type."""
    global _settings_class
    clear_settings_class()
    job_type = active_job_type(scene)
    if job_type is None:
        return
    settings_class = generate_settings_class(job_type)
    bpy.utils.register_class(settings_class)
    _settings_class = settings_class
    bpy.types.Scene.flamenco_job_settings = bpy.props.PointerProperty(
        type=settings_class,
        name="Job Settings",
        description="Settings of the Flamenco job",
    )
    fill_visible_settings(scene, context or bpy.context)


def fill_visible_settings(scene: bpy.types.Scene, context: bpy.types.Context) -> None:
    """Give visible settings with an eval expression a value, unless the artist set one."""
    propgroup = getattr(scene, "flamenco_job_settings", None)
    job_type = active_job_type(scene)
    if propgroup is None or job_type is None:
        return
    for setting in job_type.get("settings", []):
        key = setting.get("key")
        if not job_settings.is_visible(setting) or not setting.get("eval"):
            continue
        if not job_settings.is_editable(setting) or not hasattr(propgroup, key):
            continue
        if getattr(propgroup, key):
            continue
        try:
            value = job_settings.evaluate(setting, propgroup.eval_namespace(context, scene))
            setattr(propgroup, key, value)
        except (job_settings.SettingEvalError, TypeError, ValueError) as error:
            log.warning("%s", error)


class JobSettingsMixin:
    """Methods of every generated job settings property group."""

    job_type: Dict[str, Any]

    def eval_namespace(
        self, context: bpy.types.Context, scene: Optional[bpy.types.Scene] = None
    ) -> Dict[str, Any]:
        scene = scene or context.scene
        return job_settings.eval_namespace(
            bpy_module=bpy,
            context=context,
            job_name=str(getattr(scene, "flamenco_job_name", "")),
            blendfile=bpy.data.filepath,
            settings=self,
        )

    def setting(self, key: str) -> Optional[Dict[str, Any]]:
        for setting in self.job_type.get("settings", []):
            if setting.get("key") == key:
                return setting
        return None

    def eval_and_assign(self, context: bpy.types.Context, key: str) -> None:
        setting = self.setting(key)
        if setting is None or not setting.get("eval"):
            return
        setattr(self, key, job_settings.evaluate(setting, self.eval_namespace(context)))

    def submission_settings(self, context: bpy.types.Context) -> Dict[str, Any]:
        """Every setting's value for the job; raises SettingEvalError."""
        values: Dict[str, Any] = {}
        for setting in self.job_type.get("settings", []):
            key = setting.get("key")
            if not isinstance(key, str) or not hasattr(self, key):
                continue
            autoeval = bool(getattr(self, job_settings.autoeval_property_name(setting), False))
            if job_settings.is_editable(setting):
                current = getattr(self, key)
            else:
                current = setting.get("default", "")
            values[key] = job_settings.submission_value(
                setting, current, autoeval, lambda: self.eval_namespace(context)
            )
        return values


def _read_only_getter(spec: job_settings.PropertySpec, setting: Dict[str, Any]) -> Callable:
    """The getter of a read-only setting: its eval expression, else its default."""
    fallback = {"StringProperty": "", "IntProperty": 0, "FloatProperty": 0.0}.get(
        spec.function, False
    )

    def getter(propgroup: Any) -> Any:
        try:
            if spec.eval_expression:
                return job_settings.evaluate(setting, propgroup.eval_namespace(bpy.context))
            if setting.get("default") is not None:
                return job_settings.coerce(job_settings.setting_type(setting), setting["default"])
        except (job_settings.SettingEvalError, TypeError, ValueError) as error:
            # Drawn many times a second; the error shows again when submitting.
            log.debug("%s", error)
            if spec.function == "StringProperty":
                return "(cannot compute: %s)" % error
        return fallback

    return getter


def generate_settings_class(job_type: Dict[str, Any]) -> type:
    """A PropertyGroup subclass with one property per setting of the job type."""
    settings_by_key = {
        setting["key"]: setting
        for setting in job_type.get("settings", [])
        if isinstance(setting, dict) and isinstance(setting.get("key"), str)
    }
    annotations: Dict[str, Any] = {}
    for spec in job_settings.property_specs(job_type):
        kwargs = dict(spec.kwargs)
        if spec.read_only:
            kwargs["get"] = _read_only_getter(spec, settings_by_key[spec.key])
        factory = getattr(bpy.props, spec.function)
        try:
            annotations[spec.key] = factory(**kwargs)
        except (TypeError, ValueError) as error:
            # A job type with an odd propargs value must not break the whole panel.
            log.warning("setting %r: %s; using it without extras", spec.key, error)
            plain = {k: v for k, v in kwargs.items() if k in {"name", "description", "get"}}
            if spec.function == "EnumProperty":
                plain["items"] = kwargs["items"]
            annotations[spec.key] = factory(**plain)

    return type(
        job_settings.class_name(str(job_type["name"])),
        (JobSettingsMixin, bpy.types.PropertyGroup),
        {"__annotations__": annotations, "job_type": job_type},
    )


@bpy.app.handlers.persistent
def _rebuild_after_load(_filepath: Any = None, _unused: Any = None) -> None:
    """A loaded file may have another job type selected; its settings need their class."""
    info = manager_cache.cached()
    set_available(info.job_types if info is not None else [])
    scene = bpy.context.scene
    if scene is not None:
        update_job_type_properties(scene)


def register() -> None:
    bpy.types.Scene.flamenco_job_type = bpy.props.EnumProperty(
        name="Job Type",
        description="The kind of job to submit; the Manager defines them",
        items=_job_type_items,
        update=_job_type_changed,
        default=0,
    )
    bpy.app.handlers.load_post.append(_rebuild_after_load)


def unregister() -> None:
    if _rebuild_after_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_rebuild_after_load)
    clear_settings_class()
    if hasattr(bpy.types.Scene, "flamenco_job_type"):
        del bpy.types.Scene.flamenco_job_type
