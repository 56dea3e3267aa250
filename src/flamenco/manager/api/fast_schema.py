"""Quick acceptance checks for request schemas, never more lenient than openapi-core's.

Validating a body with openapi-core (jsonschema underneath) costs ~50 µs per
object: a Shaman checkout of 10,000 files held the event loop for over half a
second. Here a schema is compiled once into plain Python checks for the few
keywords our spec uses. A value the quick check accepts is valid; anything it
rejects goes to openapi-core, which either accepts it after all (the quick check
is stricter in places, for example about 1.0 as an integer or `nullable`) or
produces the error message. Schemas with keywords outside the list below get no
quick check at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import FormatChecker

Check = Callable[[Any], bool]

# Keywords that only describe, and change nothing about what is valid.
_ANNOTATIONS = frozenset({"description", "title", "example", "default", "deprecated"})
# Keywords compiled below. Leaving out `nullable: true` makes a check stricter
# (null is rejected, then accepted by openapi-core), so it is safe to ignore.
_COMPILED = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "allOf",
        "nullable",
    }
)
# bool is an int in Python, never in JSON Schema.
_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
}


# Formats with a quick pattern for their usual spelling. The format checker gets
# whatever the pattern does not match, so that these are never more lenient.
_FORMAT_PATTERNS: dict[str, re.Pattern[str]] = {
    # UUIDs come with every Worker request: the checker's UUID() costs more than
    # the rest of validating one.
    "uuid": re.compile(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
}


class Unsupported(Exception):
    """The schema uses something the quick check does not cover."""


def compile_schema(
    schema: Mapping[str, Any], document: Mapping[str, Any], format_checker: FormatChecker
) -> Check | None:
    """A quick check for `schema` ($refs resolved in `document`), or None when unsupported."""
    try:
        return _Compiler(document, format_checker).compile(schema)
    except Unsupported:
        return None


class _Compiler:
    def __init__(self, document: Mapping[str, Any], format_checker: FormatChecker) -> None:
        self._document = document
        self._format_checker = format_checker
        self._resolving: set[str] = set()

    def compile(self, schema: Mapping[str, Any]) -> Check:
        unknown = set(schema) - _COMPILED - _ANNOTATIONS
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        if "$ref" in schema:
            if len(set(schema) - _ANNOTATIONS) > 1:
                raise Unsupported("$ref beside other keywords")
            return self._reference(schema["$ref"])
        checks = [
            self._type(schema),
            *self._object(schema),
            *self._array(schema),
            *self._string(schema),
            *self._number(schema),
            *self._enum(schema),
            *(self.compile(part) for part in schema.get("allOf", ())),
            self._format(schema),
        ]
        return _all_of([check for check in checks if check is not None])

    def _reference(self, reference: str) -> Check:
        if not reference.startswith("#/") or reference in self._resolving:
            raise Unsupported(f"reference {reference}")
        target: Any = self._document
        for part in reference[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        self._resolving.add(reference)
        try:
            return self.compile(target)
        finally:
            self._resolving.discard(reference)

    def _type(self, schema: Mapping[str, Any]) -> Check | None:
        if "type" not in schema:
            return None
        kind = schema["type"]
        if not isinstance(kind, str) or kind not in _TYPE_CHECKS:
            raise Unsupported(f"type {kind!r}")
        return _TYPE_CHECKS[kind]

    def _object(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        required = tuple(schema.get("required", ()))
        if required:
            checks.append(
                lambda value: not isinstance(value, dict) or all(key in value for key in required)
            )
        properties = {
            name: self.compile(sub) for name, sub in (schema.get("properties") or {}).items()
        }
        extra = schema.get("additionalProperties", True)
        if extra is True and not properties:
            return checks
        extra_check = None if isinstance(extra, bool) else self.compile(extra)
        allow_extra = extra is not False

        def check_members(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, member in value.items():
                check = properties.get(key)
                if check is not None:
                    if not check(member):
                        return False
                elif not allow_extra or (extra_check is not None and not extra_check(member)):
                    return False
            return True

        checks.append(check_members)
        return checks

    def _array(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if "items" in schema:
            item_check = self.compile(schema["items"])
            checks.append(lambda value: not isinstance(value, list) or all(map(item_check, value)))
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None or high is not None:
            checks.append(
                lambda value: not isinstance(value, list) or _within(len(value), low, high)
            )
        return checks

    def _string(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None or high is not None:
            checks.append(
                lambda value: not isinstance(value, str) or _within(len(value), low, high)
            )
        if "pattern" in schema:
            # Unanchored, as jsonschema matches it (re.search): the same answer.
            search = re.compile(schema["pattern"]).search
            checks.append(lambda value: not isinstance(value, str) or search(value) is not None)
        return checks

    def _number(self, schema: Mapping[str, Any]) -> list[Check]:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is None and high is None:
            return []
        # OpenAPI 3.0 spells exclusive bounds as booleans beside minimum and maximum.
        above = bool(schema.get("exclusiveMinimum"))
        below = bool(schema.get("exclusiveMaximum"))

        def in_range(value: Any) -> bool:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return True
            if low is not None and (value <= low if above else value < low):
                return False
            return not (high is not None and (value >= high if below else value > high))

        return [in_range]

    def _enum(self, schema: Mapping[str, Any]) -> list[Check]:
        if "enum" not in schema:
            return []
        options = schema["enum"]
        # Python's == mixes up 1, 1.0 and True; strings compare the same either way.
        if not all(isinstance(option, str) for option in options):
            raise Unsupported("enum of non-strings")
        allowed = frozenset(options)
        return [lambda value: isinstance(value, str) and value in allowed]

    def _format(self, schema: Mapping[str, Any]) -> Check | None:
        if "format" not in schema:
            return None
        name = schema["format"]
        conforms = self._format_checker.conforms
        # The same checker openapi-core uses, so formats mean exactly the same here.
        pattern = _FORMAT_PATTERNS.get(name)
        if pattern is None:
            return lambda value: conforms(value, name)
        usual = pattern.fullmatch
        return lambda value: (
            (isinstance(value, str) and usual(value) is not None) or conforms(value, name)
        )


def _within(size: int, low: int | None, high: int | None) -> bool:
    return (low is None or size >= low) and (high is None or size <= high)


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)
