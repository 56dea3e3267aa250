"""Job type settings, as the Manager describes them, turned into Blender property specs (no bpy).

The Manager sends each job type as JSON (`AvailableJobType`). This module
decides, without touching Blender, which bpy.props property each setting
becomes, which settings the artist sees, and which ones are computed from
their `eval` expression. `job_types.py` turns the specs into real properties.
"""

import dataclasses
import logging
import os
from pathlib import Path, PurePath
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Union

log = logging.getLogger(__name__)

SettingJSON = Mapping[str, Any]

# Visibility values that mean "show it in the submitter".
VISIBLE_IN_SUBMITTER = frozenset({"visible", "submission"})

# The setting that the add-on fills in with the blend file's location on the farm.
BLENDFILE_SETTING_KEY = "blendfile"

PATH_SUBTYPES = frozenset({"file_path", "dir_path", "hashed_file_path"})

_PROPERTY_FUNCTIONS = {
    "string": "StringProperty",
    "int32": "IntProperty",
    "float": "FloatProperty",
    "bool": "BoolProperty",
}

# Extra bpy.props keyword arguments a job type may set through `propargs`.
# Others (get/set/update/items, or arguments of another property type) would
# break registration or let a job type run code, so they are dropped.
_ALLOWED_PROPARGS: Dict[str, Set[str]] = {
    "StringProperty": {"maxlen", "options"},
    "IntProperty": {"min", "max", "soft_min", "soft_max", "step", "options"},
    "FloatProperty": {"min", "max", "soft_min", "soft_max", "step", "precision", "unit", "options"},
    "BoolProperty": {"options"},
    "EnumProperty": {"options"},
}

_NUMBER_SUBTYPES = {
    "PIXEL",
    "UNSIGNED",
    "PERCENTAGE",
    "FACTOR",
    "ANGLE",
    "TIME",
    "DISTANCE",
    "NONE",
}
_VALID_SUBTYPES: Dict[str, Set[str]] = {
    "StringProperty": {"FILE_PATH", "DIR_PATH", "FILE_NAME", "BYTE_STRING", "PASSWORD", "NONE"},
    "IntProperty": _NUMBER_SUBTYPES,
    "FloatProperty": _NUMBER_SUBTYPES,
    "BoolProperty": {"NONE"},
    "EnumProperty": set(),
}


class SettingEvalError(Exception):
    """A setting's `eval` expression failed; the message is for the artist."""

    def __init__(self, key: str, expression: str, error: BaseException) -> None:
        message = "Could not compute setting %r from `%s`: %s: %s" % (
            key,
            expression,
            type(error).__name__,
            error,
        )
        super().__init__(message)
        self.key = key
        self.expression = expression
        self.error = error


@dataclasses.dataclass
class PropertySpec:
    """How to build the bpy property of one setting."""

    key: str
    function: str  # name of the bpy.props function, like "StringProperty"
    kwargs: Dict[str, Any]
    read_only: bool
    eval_expression: str


def setting_type(setting: SettingJSON) -> str:
    return str(setting.get("type", "string"))


def is_visible(setting: SettingJSON) -> bool:
    """Whether the submitter shows this setting; a missing `visible` means visible."""
    return str(setting.get("visible", "visible")) in VISIBLE_IN_SUBMITTER


def is_editable(setting: SettingJSON) -> bool:
    """Only an explicit `editable: false` makes a setting read-only, as upstream."""
    return setting.get("editable", True) is not False


def eval_info(setting: SettingJSON) -> Mapping[str, Any]:
    info = setting.get("evalInfo")
    return info if isinstance(info, dict) else {}


def shows_link_button(setting: SettingJSON) -> bool:
    """Whether the setting gets the 'Use Automatic Value' toggle."""
    return bool(eval_info(setting).get("showLinkButton", False)) and bool(setting.get("eval"))


def eval_description(setting: SettingJSON) -> str:
    return str(eval_info(setting).get("description", "") or "")


def autoeval_property_name(setting: SettingJSON) -> str:
    return "autoeval_%s" % setting["key"]


def is_path_setting(setting: SettingJSON) -> bool:
    return setting_type(setting) == "string" and str(setting.get("subtype", "")) in PATH_SUBTYPES


def label(setting: SettingJSON) -> str:
    """The label, or one made from the key: `render_output_root` gives `Render Output Root`."""
    given = setting.get("label")
    if isinstance(given, str) and given:
        return given
    return str(setting["key"]).replace("_", " ").title()


def class_name(job_type_name: str) -> str:
    """A valid Python class name for the job type's property group: `simple-blender-render` ->
    `FlamencoJobSettingsSimpleBlenderRender`."""
    words = "".join(c if c.isalnum() else " " for c in job_type_name).split()
    return "FlamencoJobSettings" + "".join(word[:1].upper() + word[1:] for word in words)


def coerce(kind: str, value: Any) -> Any:
    """Convert a JSON or eval value to the setting's type.

    JSON (and JavaScript) do not tell 3 from 3.0, and eval expressions return
    whatever Python gives, like a Path; the Manager and Blender want the
    declared type.
    """
    if kind == "string":
        if isinstance(value, PurePath):
            return str(value)
        return value if isinstance(value, str) else str(value)
    if kind == "int32":
        if isinstance(value, str):
            return int(float(value.strip()))
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return bool(value)
    return value


def _choices(setting: SettingJSON) -> Optional[List[str]]:
    choices = setting.get("choices")
    if not isinstance(choices, list) or not choices:
        return None
    return [str(choice) for choice in choices]


def property_spec(setting: SettingJSON, job_type_name: str = "") -> PropertySpec:
    """Translate one setting into the bpy.props call that represents it."""
    key = str(setting["key"])
    kind = setting_type(setting)
    function = _PROPERTY_FUNCTIONS.get(kind)
    if function is None:
        log.warning(
            "job type %r, setting %r: unknown type %r, treating it as a string",
            job_type_name,
            key,
            kind,
        )
        kind, function = "string", "StringProperty"

    read_only = not is_editable(setting)
    kwargs: Dict[str, Any] = {"name": label(setting), "options": set()}
    description = setting.get("description")
    if description:
        kwargs["description"] = str(description)

    choices = _choices(setting)
    if choices is not None and kind != "string":
        log.warning(
            "job type %r, setting %r: choices only work for strings, ignoring them",
            job_type_name,
            key,
        )
        choices = None
    if choices is not None and not read_only:
        function = "EnumProperty"
        kwargs["items"] = [(choice, choice, "") for choice in choices]

    if "default" in setting and setting["default"] is not None:
        try:
            default = coerce(kind, setting["default"])
        except (TypeError, ValueError):
            log.warning("job type %r, setting %r: unusable default", job_type_name, key)
        else:
            if function != "EnumProperty" or default in (choices or []):
                kwargs["default"] = default

    subtype = setting.get("subtype")
    if subtype:
        upper = str(subtype).upper()
        if upper == "HASHED_FILE_PATH":
            # Flamenco's own subtype: a path with ###### appended. Blender only knows files.
            upper = "FILE_PATH"
        if upper in _VALID_SUBTYPES[function]:
            kwargs["subtype"] = upper

    propargs = setting.get("propargs")
    if isinstance(propargs, dict):
        kwargs.update(_clean_propargs(propargs, function, kind, job_type_name, key))

    return PropertySpec(
        key=key,
        function=function,
        kwargs=kwargs,
        read_only=read_only,
        eval_expression=str(setting.get("eval") or ""),
    )


def _clean_propargs(
    propargs: Mapping[str, Any], function: str, kind: str, job_type_name: str, key: str
) -> Dict[str, Any]:
    cleaned: Dict[str, Any] = {}
    allowed = _ALLOWED_PROPARGS[function]
    for name, value in propargs.items():
        if name not in allowed:
            log.warning(
                "job type %r, setting %r: ignoring propargs %r, not valid for a %s",
                job_type_name,
                key,
                name,
                function,
            )
            continue
        try:
            if name == "options":
                value = {str(option) for option in value}
            elif name in {"min", "max", "soft_min", "soft_max"}:
                value = coerce(kind, value)
            elif name in {"step", "precision", "maxlen"}:
                value = int(value)
        except (TypeError, ValueError):
            log.warning(
                "job type %r, setting %r: propargs %r=%r is unusable",
                job_type_name,
                key,
                name,
                value,
            )
            continue
        cleaned[name] = value
    return cleaned


def autoeval_spec(setting: SettingJSON) -> PropertySpec:
    """The 'Use Automatic Value' toggle of a setting with a link button; on by default."""
    return PropertySpec(
        key=autoeval_property_name(setting),
        function="BoolProperty",
        kwargs={
            "name": "Use Automatic Value",
            "description": "Work out %r automatically when the job is submitted" % label(setting),
            "default": True,
            "options": set(),
        },
        read_only=False,
        eval_expression="",
    )


def property_specs(job_type: Mapping[str, Any]) -> List[PropertySpec]:
    """Every property of the job type's property group: its settings and their toggles."""
    name = str(job_type.get("name", ""))
    specs: List[PropertySpec] = []
    seen: Set[str] = set()
    for setting in job_type.get("settings", []):
        if not isinstance(setting, dict) or not isinstance(setting.get("key"), str):
            continue
        if not setting["key"].isidentifier() or setting["key"] in seen:
            log.warning("job type %r: skipping unusable setting key %r", name, setting["key"])
            continue
        seen.add(setting["key"])
        specs.append(property_spec(setting, name))
        if shows_link_button(setting):
            specs.append(autoeval_spec(setting))
    return specs


def should_autoeval(setting: SettingJSON, autoeval_enabled: bool) -> bool:
    """Whether submission computes this setting from its eval expression (or default).

    Settings hidden from the submitter exist to be computed; visible ones only
    when their 'Use Automatic Value' toggle is on.
    """
    if not is_visible(setting):
        return True
    return shows_link_button(setting) and autoeval_enabled


# -- the eval namespace -----------------------------------------------------


def blend_abspath(path: Union[str, PurePath], blendfile: Union[str, PurePath]) -> Path:
    """`path` made absolute: `//` is relative to the blend file's folder, as in Blender.

    `..` is collapsed but symlinks are kept, like Blender Asset Tracer does.
    """
    text = str(path)
    if text.startswith("//"):
        base = os.path.dirname(os.path.abspath(str(blendfile))) if str(blendfile) else os.getcwd()
        text = os.path.join(base, text[2:])
    return Path(os.path.normpath(os.path.abspath(text)))


def last_n_dir_parts(n: int, filepath: Union[str, PurePath]) -> Path:
    """The last `n` folder names of the folder holding `filepath`, as a relative path.

    `last_n_dir_parts(2, "/path/to/some/file.blend")` is `to/some`; n <= 0 gives `Path()`.
    """
    if n <= 0:
        return Path()
    directory = blend_abspath(filepath, filepath).parent
    parts = directory.parts[1:] if directory.anchor else directory.parts
    return Path(*parts[-n:]) if parts else Path()


def eval_namespace(
    *,
    bpy_module: Any,
    context: Any,
    job_name: str,
    blendfile: str,
    settings: Any,
) -> Dict[str, Any]:
    """The names a setting's `eval` expression can use, the same as upstream's add-on."""

    def abspath(path: Union[str, PurePath]) -> Path:
        return blend_abspath(path, blendfile)

    def last_n(n: int, filepath: Union[str, PurePath, None] = None) -> Path:
        if filepath is None:
            filepath = blendfile
        elif str(filepath).startswith("//"):
            filepath = blend_abspath(filepath, blendfile)
        return last_n_dir_parts(n, filepath)

    return {
        "bpy": bpy_module,
        "C": context,
        "jobname": job_name,
        "Path": Path,
        "abspath": abspath,
        "last_n_dir_parts": last_n,
        "settings": settings,
    }


def evaluate(setting: SettingJSON, namespace: Dict[str, Any]) -> Any:
    """Run the setting's eval expression and coerce the result to the setting's type."""
    key = str(setting["key"])
    expression = str(setting.get("eval") or "")
    try:
        # Job types come from the studio's own Manager and upstream evaluates them
        # the same way. The names go in as globals (upstream passes them as locals)
        # so that comprehensions inside an expression can see them too.
        value = eval(expression, dict(namespace))
        return coerce(setting_type(setting), value)
    except Exception as error:
        raise SettingEvalError(key, expression, error) from error


def submission_value(
    setting: SettingJSON,
    current_value: Any,
    autoeval_enabled: bool,
    namespace_factory: Callable[[], Dict[str, Any]],
) -> Any:
    """The value a setting gets in the submitted job."""
    if should_autoeval(setting, autoeval_enabled) or not is_editable(setting):
        if setting.get("eval"):
            return evaluate(setting, namespace_factory())
        if setting.get("default") is not None:
            try:
                return coerce(setting_type(setting), setting["default"])
            except (TypeError, ValueError):
                pass
    return coerce(setting_type(setting), current_value)
