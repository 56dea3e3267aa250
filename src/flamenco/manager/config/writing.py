"""Writing the configuration: as JSON for the web editor, as YAML to the file, atomically."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import yaml

from flamenco import __version__, durations
from flamenco.manager.config.schema import CONFIG_VERSION, ManagerConfig, Variable

logger = logging.getLogger(__name__)


def config_to_json(config: ManagerConfig) -> dict[str, object]:
    """The configuration as JSON-able data: the file's keys, durations as Go strings.

    Empty optional variable fields are left out, as upstream does (`omitempty`).
    """
    plain: dict[str, object] = {"_meta": {"version": CONFIG_VERSION}}
    plain.update(_section_to_plain(config))
    return plain


def _section_to_plain(section: object) -> dict[str, object]:
    plain: dict[str, object] = {}
    for field in dataclasses.fields(section):  # type: ignore[arg-type]
        plain[field.metadata.get("key", field.name)] = _value_to_plain(getattr(section, field.name))
    return plain


def _value_to_plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.timedelta):
        return durations.format_duration(value)
    if isinstance(value, Mapping):
        return {
            name: value[name] if isinstance(value[name], int) else _variable_to_plain(value[name])
            for name in sorted(value)
        }
    if dataclasses.is_dataclass(value):
        return _section_to_plain(value)
    if isinstance(value, tuple):
        return [_value_to_plain(element) for element in value]
    return value


def _variable_to_plain(variable: Variable) -> dict[str, object]:
    plain: dict[str, object] = {}
    if variable.is_twoway:
        plain["is_twoway"] = True
    values: list[dict[str, object]] = []
    for value in variable.values:
        item: dict[str, object] = {}
        if value.audience:
            item["audience"] = value.audience
        if value.platform:
            item["platform"] = value.platform
        if value.platforms:
            item["platforms"] = list(value.platforms)
        item["value"] = value.value
        values.append(item)
    plain["values"] = values
    return plain


_EXTENSION_KEYS: Final = frozenset(
    field.name for field in dataclasses.fields(ManagerConfig) if field.metadata.get("extension")
)

_HEADER: Final = """\
# Flamenco Manager configuration, written by Flamenco in Python {version}.
#
# The Manager's web interface may overwrite this file; comments you add here
# will then be lost. Every setting is described in docs/configuration.md.

"""

_EXTENSIONS_COMMENT: Final = """
# Settings of Flamenco in Python that upstream Flamenco does not have (and ignores):
"""


def config_to_yaml(config: ManagerConfig) -> str:
    """The text write_config writes: a header comment, then the settings in upstream's order."""
    plain = config_to_json(config)
    upstream = {key: value for key, value in plain.items() if key not in _EXTENSION_KEYS}
    variables = upstream.pop("variables")
    extensions = {key: value for key, value in plain.items() if key in _EXTENSION_KEYS}
    return (
        _HEADER.format(version=__version__)
        + _dump_yaml(upstream)
        + _EXTENSIONS_COMMENT
        + _dump_yaml(extensions)
        + "\n"
        + _dump_yaml({"variables": variables})
    )


def _dump_yaml(data: Mapping[str, object]) -> str:
    text: str = yaml.safe_dump(
        dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096
    )
    return text


def write_config(config: ManagerConfig, path: Path | str) -> None:
    """Write the configuration to `path` atomically, keeping the previous file as `<name>.bak`.

    The new text goes to `<name>~` in the same directory (mode 0600: the file
    may hold the MQTT password) and then replaces the file in one rename.
    """
    target = Path(os.path.abspath(path))
    temporary = target.with_name(target.name + "~")
    backup = target.with_name(target.name + ".bak")
    text = config_to_yaml(config)

    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # O_CREAT's mode does not apply when a stale temporary file already existed.
        os.chmod(temporary, 0o600)
        if target.exists():
            shutil.copy2(target, backup)
            os.chmod(backup, 0o600)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    logger.info("configuration written to %s", target)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable on POSIX; Windows cannot open directories, nor needs to.
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
