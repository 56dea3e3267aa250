"""Configuration variables: per-platform lookup, `{name}` expansion for Workers, two-way paths.

Variables come from `flamenco-manager.yaml` plus the implicit `{jobs}` variable
(the job storage location). Three operations use them, each as upstream does:

- When a task goes to a Worker, `{name}` placeholders in its command parameters
  become the values for audience `workers` on that Worker's platform, and paths
  under a two-way variable's Manager-platform value are moved to the Worker's
  value, with separators for its platform (`expand_command_parameters`).
- When a job is submitted, settings and metadata that start with a two-way
  variable's value for the submitter's platform get that prefix replaced by
  `{name}`, so the job can run on any platform (`replace_two_way_values`).
- The web UI and add-on ask for the variables and the storage location as seen
  by one audience on one platform (`for_audience`, `shared_storage_location`).

Lookup tables are built once per Variables instance; expansion tables are cached
per (audience, platform), as expansion runs every time a task is scheduled.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Final

from flamenco import crosspath
from flamenco.manager import config as config_module

logger = logging.getLogger(__name__)

# The audiences a lookup can be for; "all" and "" in the file expand to both.
WORKERS: Final = "workers"
USERS: Final = "users"
_CONCRETE_AUDIENCES: Final = (WORKERS, USERS)
_WILDCARD_AUDIENCES: Final = frozenset({"", "all"})

# The platform name that applies to every platform; specific platforms win over it.
PLATFORM_ALL: Final = "all"

# The variable that always exists and points at the job storage location.
JOBS_VARIABLE: Final = "jobs"

# Submitters say "manager" when they run on the Manager's own machine.
SUBMITTER_PLATFORM_MANAGER: Final = "manager"

# Platform names come from Workers and HTTP requests; bound what we keep for them.
_MAX_CACHED_TABLES: Final = 256


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VariableInfo:
    """A variable as seen by one audience on one platform."""

    name: str
    value: str
    is_twoway: bool


@dataclasses.dataclass(frozen=True, slots=True)
class _PrefixMatcher:
    """Recognises a two-way variable value at the start of a text.

    Matching ignores case and treats `\\` and `/` alike, so `Y:/shared/x`
    matches the value `Y:\\shared`.
    """

    folded: str
    length: int

    @classmethod
    def for_value(cls, value: str) -> _PrefixMatcher:
        return cls(folded=_fold(value), length=len(value))

    def remainder(self, text: str) -> str | None:
        """The rest of `text` after the prefix, or None when `text` does not start with it."""
        head = text[: self.length]
        if len(head) != self.length or _fold(head) != self.folded:
            return None
        return text[self.length :]


def _fold(text: str) -> str:
    return crosspath.to_slash(text).casefold()


@dataclasses.dataclass(frozen=True, slots=True)
class _Table:
    """All variables for one (audience, platform), split the way expansion needs them."""

    info: Mapping[str, VariableInfo]
    one_way: Mapping[str, str]
    two_way: Mapping[str, str]
    one_way_pattern: re.Pattern[str] | None
    two_way_pattern: re.Pattern[str] | None
    # Two-way values as (matcher, name), longest first, for replacement on submission.
    two_way_matchers: tuple[tuple[_PrefixMatcher, str], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Expander:
    """Everything needed to expand values for one audience on one target platform."""

    platform: str
    table: _Table
    # (Manager-platform value, target-platform value) of each two-way variable
    # defined for both, longest Manager value first.
    swaps: tuple[tuple[_PrefixMatcher, str], ...]


def _placeholder_pattern(names: Mapping[str, str]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(r"\{(" + alternatives + r")\}")


class Variables:
    """The variables of one loaded configuration, ready for lookup and expansion.

    Build a new instance whenever the configuration changes; instances never
    re-read the configuration. `manager_platform` is the GOOS name of the
    Manager's platform, which two-way variables translate from.
    """

    def __init__(
        self,
        config: config_module.ManagerConfig,
        *,
        storage_location: str,
        manager_platform: str,
    ) -> None:
        self._manager_platform = manager_platform
        self._storage_location = storage_location

        definitions = dict(config.variables)
        if JOBS_VARIABLE in definitions:
            logger.warning(
                "variable %r is defined in the configuration, but is replaced by the implicit "
                "one that points at the job storage location",
                JOBS_VARIABLE,
            )
            del definitions[JOBS_VARIABLE]
        _check_definitions(definitions)
        # The implicit variable must be one-way: the Manager cannot know how other
        # platforms reach its storage; two-way variables in the file say that.
        definitions[JOBS_VARIABLE] = config_module.Variable(
            values=(
                config_module.VariableValue(
                    audience="all", platform=PLATFORM_ALL, value=storage_location
                ),
            )
        )

        self._two_way_names = frozenset(
            name for name, variable in definitions.items() if variable.is_twoway
        )
        self._lookup = _build_lookup(definitions)
        self._tables: dict[tuple[str, str], _Table] = {}
        self._expanders: dict[tuple[str, str], _Expander] = {}

    @classmethod
    def from_loaded(
        cls, loaded: config_module.LoadedConfig, *, manager_platform: str | None = None
    ) -> Variables:
        """Variables for a loaded configuration; the platform defaults to the one we run on."""
        return cls(
            loaded.config,
            storage_location=config_module.effective_storage_location(loaded),
            manager_platform=manager_platform or config_module.manager_platform(),
        )

    @property
    def manager_platform(self) -> str:
        return self._manager_platform

    def for_audience(self, audience: str, platform: str) -> dict[str, VariableInfo]:
        """The variables `audience` (`workers` or `users`) sees on `platform`, by name.

        A value for the specific platform wins over one for `all`. An unknown
        platform sees only the values for `all`; an unknown audience sees nothing.
        """
        return dict(self._table(audience, platform).info)

    def expand(self, value: str, platform: str, *, audience: str = WORKERS) -> str:
        """Expand one value for `audience` on `platform`, as for a task's command parameter.

        1. `{name}` of one-way variables becomes their value;
        2. `{name}` of two-way variables becomes their value, and marks a path;
        3. a value starting with a two-way variable's value for the Manager's
           platform gets that prefix swapped for the target platform's value
           (both slash styles and any case match), and is marked a path;
        4. a path gets the separators of the target platform.
        """
        return _expand(value, self._expander(audience, platform))

    def expand_command_parameters(
        self, parameters: Mapping[str, object], platform: str
    ) -> dict[str, object]:
        """A copy of a command's parameters with variables expanded for a Worker on `platform`.

        Text values and the text items of list values are expanded; keys, other
        types and anything nested deeper (like dicts) are left as they are.
        """
        expander = self._expander(WORKERS, platform)
        expanded: dict[str, object] = {}
        for key, value in parameters.items():
            if isinstance(value, str):
                expanded[key] = _expand(value, expander)
            elif isinstance(value, list):
                expanded[key] = [
                    _expand(item, expander) if isinstance(item, str) else item for item in value
                ]
            else:
                expanded[key] = value
        return expanded

    def replace_two_way_values(
        self,
        settings: Mapping[str, object],
        metadata: Mapping[str, str],
        submitter_platform: str,
    ) -> tuple[dict[str, object], dict[str, str]]:
        """Copies of a submitted job's settings and metadata with paths turned into `{name}`.

        Every top-level text setting and every metadata value that starts with a
        two-way variable's value (for audience `workers` on the submitter's
        platform, any case, either slash) gets that prefix replaced by `{name}`.
        Upstream uses audience `workers` here too: the paths are meant for them.
        """
        platform = (
            self._manager_platform
            if submitter_platform == SUBMITTER_PLATFORM_MANAGER
            else submitter_platform
        )
        matchers = self._table(WORKERS, platform).two_way_matchers
        new_settings = {
            key: _replace_prefix(value, matchers) if isinstance(value, str) else value
            for key, value in settings.items()
        }
        new_metadata = {
            key: _replace_prefix(value, matchers) if isinstance(value, str) else value
            for key, value in metadata.items()
        }
        return new_settings, new_metadata

    def shared_storage_location(self, audience: str, platform: str) -> str:
        """The job storage location as `audience` on `platform` reaches it.

        The Manager's own path is translated through two-way variables, so a
        Linux Manager's `/mnt/flamenco` can be `F:\\` for Windows users.
        """
        return _expand(self._storage_location, self._expander(audience, platform))

    # -- tables

    def _table(self, audience: str, platform: str) -> _Table:
        key = (audience, platform)
        table = self._tables.get(key)
        if table is None:
            table = self._build_table(audience, platform)
            if len(self._tables) < _MAX_CACHED_TABLES:
                self._tables[key] = table
        return table

    def _build_table(self, audience: str, platform: str) -> _Table:
        platforms = self._lookup.get(audience, {})
        merged = dict(platforms.get(PLATFORM_ALL, {}))
        merged.update(platforms.get(platform, {}))
        if not merged:
            logger.warning(
                "no variables defined for audience %r on platform %r", audience, platform
            )
        names = sorted(merged)
        info = {
            name: VariableInfo(name=name, value=merged[name], is_twoway=name in self._two_way_names)
            for name in names
        }
        one_way = {name: merged[name] for name in names if name not in self._two_way_names}
        two_way = {name: merged[name] for name in names if name in self._two_way_names}
        matchers = sorted(
            (
                (_PrefixMatcher.for_value(value), name)
                for name, value in two_way.items()
                # An empty value would match, and rewrite, every text.
                if value
            ),
            key=lambda pair: -pair[0].length,
        )
        return _Table(
            info=info,
            one_way=one_way,
            two_way=two_way,
            one_way_pattern=_placeholder_pattern(one_way),
            two_way_pattern=_placeholder_pattern(two_way),
            two_way_matchers=tuple(matchers),
        )

    def _expander(self, audience: str, platform: str) -> _Expander:
        key = (audience, platform)
        expander = self._expanders.get(key)
        if expander is not None:
            return expander
        target = self._table(audience, platform)
        manager = self._table(audience, self._manager_platform)
        swaps = tuple(
            (matcher, target.two_way[name])
            for matcher, name in manager.two_way_matchers
            if name in target.two_way
        )
        expander = _Expander(platform=platform, table=target, swaps=swaps)
        if len(self._expanders) < _MAX_CACHED_TABLES:
            self._expanders[key] = expander
        return expander


def _expand(value: str, expander: _Expander) -> str:
    table = expander.table
    expanded = value
    is_path = False
    if "{" in expanded:
        if table.one_way_pattern is not None:
            one_way = table.one_way
            expanded = table.one_way_pattern.sub(lambda match: one_way[match[1]], expanded)
        if table.two_way_pattern is not None:
            two_way = table.two_way
            expanded, count = table.two_way_pattern.subn(lambda match: two_way[match[1]], expanded)
            is_path = count > 0

    # Values expanded from the Manager's own paths (like the implicit {jobs})
    # are only right on the Manager's platform: move them to the target's.
    for matcher, target_value in expander.swaps:
        remainder = matcher.remainder(expanded)
        if remainder is None:
            continue
        expanded = target_value + remainder
        if expander.platform == "windows":
            # `F:` + `path\to\file` is drive-relative; it needs `F:\`.
            expanded = crosspath.ensure_drive_absolute(expanded)
        is_path = True
        break

    if is_path:
        expanded = crosspath.to_platform(expanded, expander.platform)
    return expanded


def _replace_prefix(value: str, matchers: tuple[tuple[_PrefixMatcher, str], ...]) -> str:
    for matcher, name in matchers:
        remainder = matcher.remainder(value)
        if remainder is not None:
            return "{" + name + "}" + remainder
    return value


def _build_lookup(
    definitions: Mapping[str, config_module.Variable],
) -> dict[str, dict[str, dict[str, str]]]:
    """audience → platform → name → value, with wildcard audiences expanded.

    Values without a platform and values for an unknown audience are skipped
    (and were reported by _check_definitions). Later values win.
    """
    lookup: dict[str, dict[str, dict[str, str]]] = {}
    for name, variable in definitions.items():
        for value in variable.values:
            if value.audience in _WILDCARD_AUDIENCES:
                audiences: tuple[str, ...] = _CONCRETE_AUDIENCES
            elif value.audience in _CONCRETE_AUDIENCES:
                audiences = (value.audience,)
            else:
                continue
            # Two-way values must not end in a separator: `/render/` would turn
            # `/render/x` into `{render}x` on submission.
            text = crosspath.trim_trailing_sep(value.value) if variable.is_twoway else value.value
            platforms = [value.platform] if value.platform else []
            platforms.extend(value.platforms)
            for audience in audiences:
                for platform in platforms:
                    lookup.setdefault(audience, {}).setdefault(platform, {})[name] = text
    return lookup


def _check_definitions(definitions: Mapping[str, config_module.Variable]) -> None:
    """Log what upstream logs about variables; none of it stops the Manager."""
    for name, variable in definitions.items():
        for index, value in enumerate(variable.values):
            if not value.platform and not value.platforms:
                logger.error(
                    "variable %r value %d (%r) has no platform and is ignored",
                    name,
                    index,
                    value.value,
                )
                continue
            if value.platform and value.platforms:
                logger.warning(
                    "variable %r value %d has both 'platform' and 'platforms'; using them all",
                    name,
                    index,
                )
            if value.audience not in _WILDCARD_AUDIENCES and value.audience not in (
                _CONCRETE_AUDIENCES
            ):
                logger.error(
                    "variable %r value %d has audience %r, which is not one of all, workers, "
                    "users; it is ignored",
                    name,
                    index,
                    value.audience,
                )

    blender = definitions.get("blender")
    if blender is None:
        logger.error(
            "variable 'blender' is not configured; Workers will not be able to run Blender"
        )
        return
    empty_platforms = sorted(
        platform
        for value in blender.values
        if not value.value
        for platform in [value.platform, *value.platforms]
        if platform
    )
    if empty_platforms:
        logger.warning(
            "variable 'blender' has no value for %s; Workers there will not be able to run Blender",
            ", ".join(empty_platforms),
        )
