"""The first-run setup assistant's result: shared storage and Blender, written to the config."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from flamenco.manager import config
from flamenco.manager.errors import RequestRefused

BLENDER_PLATFORMS = ("linux", "windows", "darwin")
# Characters that make a command need quoting, as upstream quotes them.
_NEEDS_QUOTES = ("\n", "\t", ";", "(", ")")


class SetupIncomplete(RequestRefused):
    """The setup assistant's answers are not enough to run a farm."""


def blender_command(check: dict[str, Any]) -> str:
    """The `blender` variable's value for a Blender the assistant found or was given."""
    source = check.get("source")
    if source in ("file_association", "default"):
        command = "blender"
    elif source == "path_envvar":
        command = str(check.get("input") or "")
    else:
        command = str(check.get("path") or "")
    if not command:
        raise SetupIncomplete("no Blender command given")
    if any(character in command for character in _NEEDS_QUOTES):
        # JSON string quoting equals Go's %q for everything a path can hold.
        return json.dumps(command)
    return command


def apply_setup(
    settings: config.ManagerConfig, *, storage_location: str, blender: dict[str, Any]
) -> config.ManagerConfig:
    """The configuration with the assistant's answers filled in."""
    if not storage_location.strip():
        raise SetupIncomplete("no shared storage location given")
    command = blender_command(blender)
    variables = dict(settings.variables)
    variables["blender"] = config.Variable(
        values=tuple(
            config.VariableValue(platform=platform, value=command) for platform in BLENDER_PLATFORMS
        )
    )
    variables["blenderArgs"] = config.Variable(
        values=(config.VariableValue(platform="all", value=config.DEFAULT_BLENDER_ARGUMENTS),)
    )
    return dataclasses.replace(
        settings, shared_storage_path=storage_location.strip(), variables=variables
    )
