"""Server-side checks of submitted job settings against the job type's declared settings.

Upstream's Manager checks nothing; it trusts the submitter. We check what the
job type declares before its script runs (see docs/compatibility.md):

- a `required` setting must be present and not null;
- a present value must have the declared type: `string` a string, `int32` a
  whole number in the 32-bit range (a JSON boolean is not a number), `float`
  any number, `bool` true or false; undeclared types are not checked;
- with `choices`, the value must be one of them;
- a missing setting that is not required gets its declared `default`.

Settings the job type does not declare pass through untouched.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from flamenco.manager.job_compilers.errors import JobSettingsInvalid

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def is_int32(value: object) -> bool:
    """Whether `value` is a whole number (not a bool) that fits a signed 32-bit integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return INT32_MIN <= value <= INT32_MAX


def prepare_settings(
    declared: Iterable[Mapping[str, Any]], submitted: Mapping[str, Any]
) -> dict[str, Any]:
    """The settings to compile with: `submitted` checked, with defaults filled in.

    Raises JobSettingsInvalid naming the first setting that is wrong.
    """
    settings = dict(submitted)
    for declaration in declared:
        key = declaration.get("key")
        if not isinstance(key, str) or key == "":
            continue
        value = settings.get(key)
        if value is None:
            if declaration.get("required") is True:
                raise JobSettingsInvalid(key, f"setting {key!r} is required")
            if declaration.get("default") is not None:
                settings[key] = copy.deepcopy(declaration["default"])
            continue
        value = _checked_value(key, declaration.get("type"), value)
        choices = declaration.get("choices")
        if isinstance(choices, list) and value not in choices:
            options = ", ".join(json.dumps(choice) for choice in choices)
            raise JobSettingsInvalid(
                key, f"setting {key!r} must be one of {options}, not {_describe(value)}"
            )
        settings[key] = value
    return settings


def _checked_value(key: str, setting_type: object, value: Any) -> Any:
    match setting_type:
        case "string":
            if isinstance(value, str):
                return value
            expected = "a string"
        case "int32":
            if isinstance(value, float) and value.is_integer():
                # JSON has one number type; 3.0 is the same number as 3.
                value = int(value)
            is_integer = isinstance(value, int) and not isinstance(value, bool)
            if is_integer and INT32_MIN <= value <= INT32_MAX:
                return value
            expected = f"a whole number from {INT32_MIN} to {INT32_MAX}"
        case "float":
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if is_number and math.isfinite(value):
                return value
            expected = "a number"
        case "bool":
            if isinstance(value, bool):
                return value
            expected = "true or false"
        case _:
            return value
    raise JobSettingsInvalid(key, f"setting {key!r} must be {expected}, not {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(shown)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
