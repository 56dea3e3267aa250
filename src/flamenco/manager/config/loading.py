"""Reading `flamenco-manager.yaml` (or the web editor's JSON) into a ManagerConfig.

Loading is strict where upstream is strict (wrong types, bad durations, a
`_meta.version` other than 3 and YAML syntax errors raise ConfigError naming the
key and line) and lenient where upstream is lenient (unknown keys are logged and
ignored). Variables are checked when flamenco.manager.config.variables builds its tables.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, TypeVar

import yaml

from flamenco import crosspath, durations
from flamenco.manager.config.errors import ConfigError
from flamenco.manager.config.paths import LoadedConfig
from flamenco.manager.config.schema import (
    AUDIENCES,
    CONFIG_VERSION,
    ManagerConfig,
    Variable,
    VariableValue,
    default_config,
)

logger = logging.getLogger(__name__)


def load_config(path: Path | str, *, platform: str | None = None) -> LoadedConfig:
    """Read `path`; a missing file gives the defaults and a first run.

    `platform` (a GOOS name) only changes platform-dependent defaults; it is for
    tests. Raises ConfigError for anything malformed. Unknown keys are logged.
    """
    absolute = Path(os.path.abspath(path))
    try:
        text = absolute.read_text(encoding="utf-8")
    except FileNotFoundError:
        logger.info("no configuration file at %s, using defaults", absolute)
        return LoadedConfig(config=default_config(platform), path=absolute, file_existed=False)
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the file is not UTF-8 text ({error.reason} at byte {error.start})",
            filename=absolute.name,
        ) from error
    except OSError as error:
        # Running on defaults would later overwrite a file we could not even read.
        raise ConfigError(
            f"cannot read the file: {error.strerror}", filename=absolute.name
        ) from error

    parser = _Parser(filename=absolute.name, from_json=False, platform=platform)
    config = parser.parse_yaml(text)
    if parser.unknown_keys:
        logger.warning(
            "ignoring unknown settings in %s: %s", absolute, ", ".join(parser.unknown_keys)
        )
    loaded = LoadedConfig(
        config=config,
        path=absolute,
        file_existed=True,
        unknown_keys=tuple(parser.unknown_keys),
    )
    if crosspath.is_unc(config.shared_storage_path):
        logger.error(
            "shared_storage_path %r is in UNC notation, which Flamenco does not support; "
            "mount the share as a drive letter instead",
            config.shared_storage_path,
        )
    return loaded


def config_from_json(data: object, *, platform: str | None = None) -> ManagerConfig:
    """Build a configuration from the web editor's JSON (the shape config_to_json produces).

    Keys that are left out keep their defaults. Raises ConfigError naming the key.
    Unlike the YAML file, the JSON must have the exact types (text, true/false,
    numbers) and audiences must be one of all, workers, users.
    """
    parser = _Parser(filename=None, from_json=True, platform=platform)
    config = parser.parse_json(data)
    if parser.unknown_keys:
        logger.warning("ignoring unknown settings in JSON: %s", ", ".join(parser.unknown_keys))
    return config


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    line: int | None
    value: _Item


@dataclasses.dataclass(frozen=True, slots=True)
class _Item:
    """One value from the YAML file or JSON body, with enough context for error messages."""

    kind: typing.Literal["mapping", "sequence", "scalar"]
    line: int | None
    scalar: object = None
    # The literal YAML text of a scalar, which upstream uses for text settings
    # even when YAML reads it as a number; None for JSON.
    text: str | None = None
    quoted: bool = False
    entries: tuple[_Entry, ...] = ()
    items: tuple[_Item, ...] = ()

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.scalar is None

    def describe(self) -> str:
        if self.kind == "mapping":
            return "a group of settings"
        if self.kind == "sequence":
            return "a list"
        if self.scalar is None:
            return "an empty value"
        shown = self.text if self.text is not None else self.scalar
        if isinstance(shown, str):
            return _quote(shown)
        return str(shown).lower() if isinstance(shown, bool) else str(shown)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


_MAX_DEPTH: Final = 64
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_T = TypeVar("_T")


class _Parser:
    """Turns a YAML node tree or JSON value into a ManagerConfig, collecting unknown keys.

    YAML follows upstream's yaml.v2 decoding: scalars are read into text settings
    verbatim, an empty value resets a setting to its zero value, and variables
    are merged over the default ones. JSON is typed strictly instead.
    """

    def __init__(self, *, filename: str | None, from_json: bool, platform: str | None) -> None:
        self.filename = filename
        self.from_json = from_json
        self.platform = platform
        self.unknown_keys: list[str] = []

    def error(self, problem: str, key: str | None, line: int | None) -> ConfigError:
        return ConfigError(problem, key=key or None, line=line, filename=self.filename)

    # -- input trees

    def parse_yaml(self, text: str) -> ManagerConfig:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            root = None if node is None else _YAMLConverter(self).convert(node, 0)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            detail = error.problem or "invalid YAML"
            if error.context:
                detail = f"{detail} ({error.context})"
            raise self.error(
                f"YAML syntax error: {detail}", None, mark.line + 1 if mark else None
            ) from error
        except yaml.YAMLError as error:
            raise self.error(f"YAML syntax error: {error}", None, None) from error

        if root is None or (root.kind == "scalar" and root.scalar is None):
            raise self.error(
                "the file is empty; delete it to run the setup assistant, "
                'or start it with "_meta:" and "  version: 3"',
                "_meta.version",
                1,
            )
        return self.parse_root(root)

    def parse_json(self, data: object) -> ManagerConfig:
        return self.parse_root(_item_from_json(data, "", 0))

    # -- sections

    def parse_root(self, root: _Item) -> ManagerConfig:
        if root.kind != "mapping":
            raise self.error(
                f"the configuration must be a group of settings, not {root.describe()}",
                None,
                None if self.from_json else 1,
            )
        self.check_meta(root)
        return self.section(default_config(self.platform), root, "", skip=frozenset({"_meta"}))

    def check_meta(self, root: _Item) -> None:
        meta = _find(root, "_meta")
        if meta is None:
            if self.from_json:
                return  # The web editor may leave it out; it is always written as 3.
            raise self.error(
                f'is missing; add "_meta:" with "  version: {CONFIG_VERSION}" at the top',
                "_meta.version",
                1,
            )
        if meta.value.kind != "mapping":
            raise self.error(
                f"expected a group of settings, not {meta.value.describe()}", "_meta", meta.line
            )
        version_entry = _find(meta.value, "version")
        if version_entry is None:
            raise self.error(
                f"is missing; only version {CONFIG_VERSION} is supported",
                "_meta.version",
                meta.line,
            )
        for entry in meta.value.entries:
            if entry.key != "version":
                self.unknown_keys.append(self.located(f"_meta.{entry.key}", entry.line))
        version = self.integer(version_entry.value, "_meta.version")
        if version != CONFIG_VERSION:
            raise self.error(
                f"version {version} is not supported; only version {CONFIG_VERSION} "
                "(Flamenco 3) configuration files can be used",
                "_meta.version",
                version_entry.value.line,
            )

    def section(
        self, default: _T, item: _Item, path: str, *, skip: frozenset[str] = frozenset()
    ) -> _T:
        # An empty section (`shaman:` with nothing below) is treated as left out.
        if item.is_null:
            return default
        if item.kind != "mapping":
            raise self.error(
                f"expected a group of settings (indented `key: value` lines), "
                f"not {item.describe()}",
                path,
                item.line,
            )
        cls: typing.Any = type(default)
        fields = {field.metadata.get("key", field.name): field for field in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        changes: dict[str, object] = {}
        for entry in item.entries:
            if entry.key in skip:
                continue
            key_path = f"{path}.{entry.key}" if path else entry.key
            field = fields.get(entry.key)
            if field is None:
                self.unknown_keys.append(self.located(key_path, entry.line))
                continue
            if self.from_json and entry.value.is_null:
                continue  # JSON null leaves the default, as Go's encoding/json does.
            current = getattr(default, field.name)
            value = self.value(hints[field.name], current, entry.value, key_path)
            check = field.metadata.get("check")
            problem = check(value) if check else None
            if problem:
                raise self.error(problem, key_path, entry.value.line)
            changes[field.name] = value
        result: _T = dataclasses.replace(default, **changes)  # type: ignore[type-var]
        return result

    def value(self, hint: object, current: object, item: _Item, key: str) -> object:
        if hint is str:
            return self.text(item, key)
        if hint is bool:
            return self.boolean(item, key)
        if hint is int:
            return self.integer(item, key)
        if hint is datetime.timedelta:
            return self.duration(item, key)
        if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
            return self.choice(hint, current, item, key)
        if typing.get_origin(hint) is tuple:
            element = typing.get_args(hint)[0]
            if element is str:
                return self.text_list(item, key)
            return self.section_list(element(), item, key)
        if typing.get_origin(hint) is Mapping and typing.get_args(hint)[1] is int:
            return self.counts(item, key)
        if typing.get_origin(hint) is Mapping:
            return self.variables(typing.cast(Mapping[str, Variable], current), item, key)
        if dataclasses.is_dataclass(current):
            return self.section(current, item, key)
        raise TypeError(f"no parser for setting {key} of type {hint!r}")  # a bug, not bad input

    def located(self, key: str, line: int | None) -> str:
        return f"{key} (line {line})" if line is not None else key

    # -- scalars

    def scalar_or_fail(self, item: _Item, key: str, expected: str) -> object:
        if item.kind != "scalar":
            raise self.error(f"expected {expected}, not {item.describe()}", key, item.line)
        return item.scalar

    def text(self, item: _Item, key: str) -> str:
        value = self.scalar_or_fail(item, key, "text")
        if isinstance(value, str):
            return value
        if value is None and not self.from_json:
            return ""
        if item.text is not None:
            # yaml.v2 reads `manager_name: 1.5` or `password: yes` as the literal text.
            return item.text
        raise self.error(f"expected text, not {item.describe()}", key, item.line)

    def boolean(self, item: _Item, key: str) -> bool:
        value = self.scalar_or_fail(item, key, "true or false")
        if isinstance(value, bool):
            return value
        if value is None and not self.from_json:
            return False
        if item.text is not None and not item.quoted:
            # YAML 1.1 booleans that yaml.v2 knows but PyYAML does not.
            lowered = item.text.lower()
            if lowered in ("y", "yes", "on"):
                return True
            if lowered in ("n", "no", "off"):
                return False
        raise self.error(f"{item.describe()} is not true or false", key, item.line)

    def integer(self, item: _Item, key: str) -> int:
        value = self.scalar_or_fail(item, key, "a whole number")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is None and not self.from_json:
            return 0
        if isinstance(value, float) and value.is_integer():
            return int(value)
        hint = ""
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            hint = " (write it without quotes)"
        raise self.error(f"{item.describe()} is not a whole number{hint}", key, item.line)

    def duration(self, item: _Item, key: str) -> datetime.timedelta:
        value = self.scalar_or_fail(item, key, "a duration like 10m0s")
        if value is None and not self.from_json:
            return datetime.timedelta(0)
        if not isinstance(value, str):
            if item.text is None:
                raise self.error(
                    f"{item.describe()} is not a duration like 10m0s (write it as text)",
                    key,
                    item.line,
                )
            # yaml.v2 hands the literal text to Go's ParseDuration, so `0` works.
            value = item.text
        try:
            return durations.parse_duration(value)
        except durations.DurationError as error:
            raise self.error(
                f"{_quote(value)} is not a duration like 10m0s: {error.reason}", key, item.line
            ) from error

    def choice(
        self, enum_type: type[enum.StrEnum], current: object, item: _Item, key: str
    ) -> enum.StrEnum:
        value = self.scalar_or_fail(item, key, "text")
        if value is None:
            return typing.cast(enum.StrEnum, current)
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return enum_type(value)
        except ValueError:
            options = ", ".join(member.value for member in enum_type)
            raise self.error(f"{item.describe()} is not one of {options}", key, item.line) from None

    def text_list(self, item: _Item, key: str) -> tuple[str, ...]:
        if item.is_null and not self.from_json:
            return ()
        if item.kind != "sequence":
            raise self.error(f"expected a list, not {item.describe()}", key, item.line)
        return tuple(
            self.text(element, f"{key}[{index}]") for index, element in enumerate(item.items)
        )

    # -- named counts (resource_limits)

    def counts(self, item: _Item, key: str) -> Mapping[str, int]:
        if item.is_null:
            return {}
        if item.kind != "mapping":
            raise self.error(
                f"expected `name: number` lines, not {item.describe()}", key, item.line
            )
        return {
            str(entry.key): self.integer(entry.value, f"{key}.{entry.key}")
            for entry in item.entries
        }

    def section_list(self, default: _T, item: _Item, key: str) -> tuple[_T, ...]:
        """A list of groups of settings, such as notifications.webhooks: each from `default`."""
        if item.is_null and not self.from_json:
            return ()
        if item.kind != "sequence":
            raise self.error(
                f"expected a list (lines starting with `- `), not {item.describe()}",
                key,
                item.line,
            )
        return tuple(
            self.section(default, element, f"{key}[{index}]")
            for index, element in enumerate(item.items)
        )

    # -- variables

    def variables(
        self, current: Mapping[str, Variable], item: _Item, key: str
    ) -> Mapping[str, Variable]:
        if item.is_null:
            return current
        if item.kind != "mapping":
            raise self.error(f"expected variables by name, not {item.describe()}", key, item.line)
        # yaml.v2 decodes into the default map without clearing it, so a file that
        # leaves out `blenderArgs` still has it. The web editor sends the full set.
        result: dict[str, Variable] = {} if self.from_json else dict(current)
        for entry in item.entries:
            result[entry.key] = self.variable(entry.value, f"{key}.{entry.key}")
        return result

    def variable(self, item: _Item, key: str) -> Variable:
        if item.is_null and not self.from_json:
            return Variable()
        if item.kind != "mapping":
            raise self.error(
                f"expected `is_twoway` and `values`, not {item.describe()}", key, item.line
            )
        is_twoway = False
        values: tuple[VariableValue, ...] = ()
        for entry in item.entries:
            entry_key = f"{key}.{entry.key}"
            if entry.key == "is_twoway":
                is_twoway = self.boolean(entry.value, entry_key)
            elif entry.key == "values":
                values = self.variable_values(entry.value, entry_key)
            else:
                self.unknown_keys.append(self.located(entry_key, entry.line))
        return Variable(is_twoway=is_twoway, values=values)

    def variable_values(self, item: _Item, key: str) -> tuple[VariableValue, ...]:
        if item.is_null and not self.from_json:
            return ()
        if item.kind != "sequence":
            raise self.error(
                f"expected a list of values (lines starting with `- `), not {item.describe()}",
                key,
                item.line,
            )
        return tuple(
            self.variable_value(element, f"{key}[{index}]")
            for index, element in enumerate(item.items)
        )

    def variable_value(self, item: _Item, key: str) -> VariableValue:
        if item.kind != "mapping":
            raise self.error(
                f"expected `platform` and `value` settings, not {item.describe()}", key, item.line
            )
        readers: dict[str, Callable[[_Item, str], object]] = {
            "audience": self.text,
            "platform": self.text,
            "platforms": self.text_list,
            "value": self.text,
        }
        fields: dict[str, object] = {}
        for entry in item.entries:
            if self.from_json and entry.value.is_null:
                continue
            reader = readers.get(entry.key)
            if reader is None:
                self.unknown_keys.append(self.located(f"{key}.{entry.key}", entry.line))
                continue
            fields[entry.key] = reader(entry.value, f"{key}.{entry.key}")
        value = VariableValue(**fields)  # type: ignore[arg-type]
        if self.from_json and value.audience not in ("", *AUDIENCES):
            audience_entry = _find(item, "audience")
            raise self.error(
                f"{_quote(value.audience)} is not one of {', '.join(AUDIENCES)}",
                f"{key}.audience",
                audience_entry.value.line if audience_entry else item.line,
            )
        return value


def _find(item: _Item, key: str) -> _Entry | None:
    """The last entry named `key` (later duplicates win, as in YAML decoders)."""
    found = None
    for entry in item.entries:
        if entry.key == key:
            found = entry
    return found


class _YAMLConverter:
    """Turns PyYAML's composed node tree into _Items, keeping line numbers."""

    def __init__(self, parser: _Parser) -> None:
        self.parser = parser
        self.constructor = yaml.constructor.SafeConstructor()
        # Aliases reuse nodes; converting each node once keeps anchors cheap.
        self.converted: dict[int, _Item] = {}

    def convert(self, node: yaml.Node, depth: int) -> _Item:
        if depth > _MAX_DEPTH:
            raise self.parser.error("the YAML is nested too deeply", None, node.start_mark.line + 1)
        done = self.converted.get(id(node))
        if done is not None:
            return done
        line = node.start_mark.line + 1
        item: _Item
        if isinstance(node, yaml.MappingNode):
            item = _Item(kind="mapping", line=line, entries=self.entries(node, depth))
        elif isinstance(node, yaml.SequenceNode):
            children = tuple(self.convert(child, depth + 1) for child in node.value)
            item = _Item(kind="sequence", line=line, items=children)
        else:
            item = _Item(
                kind="scalar",
                line=line,
                scalar=self.constructor.construct_object(node, deep=True),
                text=node.value,
                quoted=getattr(node, "style", None) in ("'", '"', "|", ">"),
            )
        self.converted[id(node)] = item
        return item

    def entries(self, node: yaml.MappingNode, depth: int) -> tuple[_Entry, ...]:
        own_keys = [key.value for key, _ in node.value if key.tag != _MERGE_TAG]
        duplicates = sorted({key for key in own_keys if own_keys.count(key) > 1})
        if duplicates:
            logger.warning(
                "settings given more than once, the last one wins: %s (line %d)",
                ", ".join(map(str, duplicates)),
                node.start_mark.line + 1,
            )
        # Resolve `<<: *anchor` merge keys in place, as YAML loaders do.
        self.constructor.flatten_mapping(node)
        entries = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.parser.error(
                    "a setting name must be plain text", None, key_node.start_mark.line + 1
                )
            entries.append(
                _Entry(
                    key=key_node.value,
                    line=key_node.start_mark.line + 1,
                    value=self.convert(value_node, depth + 1),
                )
            )
        return tuple(entries)


def _item_from_json(data: object, key: str, depth: int) -> _Item:
    if depth > _MAX_DEPTH:
        raise ConfigError("the JSON is nested too deeply", key=key or None)
    if isinstance(data, Mapping):
        entries = []
        for name, value in data.items():
            if not isinstance(name, str):
                raise ConfigError(f"setting names must be text, not {name!r}", key=key or None)
            child_key = f"{key}.{name}" if key else name
            entries.append(_Entry(name, None, _item_from_json(value, child_key, depth + 1)))
        return _Item(kind="mapping", line=None, entries=tuple(entries))
    if isinstance(data, Sequence) and not isinstance(data, str):
        children = tuple(
            _item_from_json(value, f"{key}[{index}]", depth + 1) for index, value in enumerate(data)
        )
        return _Item(kind="sequence", line=None, items=children)
    return _Item(kind="scalar", line=None, scalar=data)
