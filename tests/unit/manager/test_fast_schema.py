"""Quick schema checks: what they accept, and that they never accept what openapi-core refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core.validation.schemas import oas30_write_schema_validators_factory
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from flamenco.manager.api import fast_schema, openapi

SPEC_PATH = Path(__file__).parents[3] / "src" / "flamenco" / "api" / "flamenco-openapi.yaml"
FORMATS = oas30_write_schema_validators_factory.format_checker

DOCUMENT = {
    "components": {
        "schemas": {
            "Status": {"type": "string", "enum": ["queued", "active"]},
            "Loop": {
                "type": "object",
                "properties": {"next": {"$ref": "#/components/schemas/Loop"}},
            },
        }
    }
}


def quick(schema: dict[str, Any]) -> fast_schema.Check:
    check = fast_schema.compile_schema(schema, DOCUMENT, FORMATS)
    assert check is not None
    return check


def test_objects_need_their_required_members_of_the_right_type() -> None:
    check = quick(
        {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "status": {"$ref": "#/components/schemas/Status"},
                "steps": {"type": "integer", "minimum": 0},
            },
        }
    )
    assert check({"name": "job", "status": "queued", "steps": 3, "extra": [1]})
    assert not check({"status": "queued"})
    assert not check({"name": ""})
    assert not check({"name": "job", "status": "exploded"})
    assert not check({"name": "job", "steps": -1})
    assert not check({"name": "job", "steps": True})  # A bool is no integer in JSON.
    assert not check(["name"])


def test_additional_properties_and_arrays() -> None:
    closed = quick({"type": "object", "additionalProperties": False, "properties": {"a": {}}})
    assert closed({"a": None})
    assert not closed({"a": 1, "b": 2})
    mapping = quick({"type": "object", "additionalProperties": {"type": "string"}})
    assert mapping({"x": "1", "y": "2"})
    assert not mapping({"x": 1})
    listing = quick({"type": "array", "items": {"type": "number"}, "maxItems": 2})
    assert listing([1, 2.5])
    assert not listing([1, "2"])
    assert not listing([1, 2, 3])


def test_formats_use_openapi_cores_own_checkers() -> None:
    check = quick({"type": "string", "format": "int32"})
    assert check("anything")
    number = quick({"type": "integer", "format": "int32"})
    assert number(2**31 - 1)
    assert not number(2**31)


@pytest.mark.parametrize(
    "value",
    [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "0F8FAD5B-D9CB-469F-A165-70867728950E",
        # Spellings beyond the quick pattern, for the format checker to decide.
        "0f8fad5b-d9cb-469f-a165-7086772895-0e",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "0f8fad5bd9cb469fa16570867728950e",
        "0f8fad5b-d9cb-469f-a165-70867728950",
        "0f8fad5b-d9cb-469f-a165-70867728950e\n",
        "not-a-uuid",
        "",
        42,
    ],
)
def test_uuids_mean_what_the_format_checker_says(value: Any) -> None:
    assert quick({"format": "uuid"})(value) == FORMATS.conforms(value, "uuid")


def test_stricter_where_in_doubt_so_openapi_core_decides() -> None:
    assert not quick({"type": "string", "nullable": True})(None)
    assert not quick({"type": "integer"})(1.0)


@pytest.mark.parametrize(
    "schema",
    [
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "object", "properties": {"id": {"type": "string", "readOnly": True}}},
        {"enum": [1, 2]},
        {"$ref": "#/components/schemas/Loop"},
        {"type": ["string", "null"]},
    ],
)
def test_schemas_beyond_the_quick_keywords_get_no_quick_check(schema: dict[str, Any]) -> None:
    assert fast_schema.compile_schema(schema, DOCUMENT, FORMATS) is None


# The differential test: every schema the Manager validates requests against.
SPEC = openapi.load_spec(SPEC_PATH.resolve())
CHECKS = sorted(
    (
        [
            (f"{op.operation_id} body", op.json_body)
            for op in SPEC.operations.values()
            if op.json_body
        ]
        + [
            (f"{op.operation_id} {parameter.name}", parameter.check)
            for op in SPEC.operations.values()
            for parameter in op.parameters
        ]
    ),
    key=lambda named: named[0],
)
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def shaped(schema: dict[str, Any], *, strict: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values following `schema`; unless strict, any part may be replaced by other JSON."""
    while "$ref" in schema:
        schema = resolve(schema["$ref"])
    following = _following(schema, strict=strict, depth=depth)
    return following if strict else st.one_of(following, following, any_json)


def resolve(reference: str) -> dict[str, Any]:
    target: Any = SPEC.document
    for part in reference[2:].split("/"):
        target = target[part]
    return dict(target)


def _following(schema: dict[str, Any], *, strict: bool, depth: int) -> st.SearchStrategy[Any]:
    """Values of the schema's shape; unless strict, also near misses of each constraint."""
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            while "$ref" in part:
                part = resolve(part["$ref"])
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        schema = merged
    loose: st.SearchStrategy[Any] = st.nothing() if strict else any_json
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | (st.nothing() if strict else st.text(max_size=8))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", [])) if strict else set()
        if depth > 4:
            return st.fixed_dictionaries({})
        members = {
            name: shaped(sub, strict=strict, depth=depth + 1) for name, sub in properties.items()
        }
        extra = {} if strict else {"unexpected": any_json}
        return st.fixed_dictionaries(
            {name: members[name] for name in required},
            optional={name: s for name, s in members.items() if name not in required} | extra,
        )
    if kind == "array":
        return st.lists(shaped(schema.get("items", {}), strict=strict, depth=depth + 1), max_size=3)
    if kind == "integer":
        low, high = (schema.get("minimum"), schema.get("maximum")) if strict else (None, None)
        return st.integers(min_value=low, max_value=high) | (
            st.nothing()
            if strict
            else st.integers(-(2**33), 2**33) | st.sampled_from([-1, 0, 1, True])
        )
    if kind == "number":
        low = schema.get("minimum") if strict else None
        return st.floats(min_value=low, allow_nan=False, allow_infinity=False) | loose
    if kind == "boolean":
        return st.booleans() | loose
    if schema.get("format") == "uuid":
        return st.uuids().map(str) | (st.nothing() if strict else st.text(max_size=8))
    if schema.get("format") == "date-time":
        return st.datetimes().map(lambda moment: moment.isoformat() + "Z") | (
            st.nothing() if strict else st.text(max_size=8)
        )
    return st.text(max_size=8) | loose


def openapi_core_accepts(check: openapi.SchemaCheck, value: Any) -> bool:
    try:
        check.validator.validate(value)
    except InvalidSchemaValue:
        return False
    return True


def test_every_request_schema_has_a_quick_check() -> None:
    assert [name for name, check in CHECKS if check.quick is None] == []


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), named=st.sampled_from(CHECKS), strict=st.booleans())
def test_quick_checks_never_accept_what_openapi_core_refuses(
    data: st.DataObject, named: tuple[str, openapi.SchemaCheck], strict: bool
) -> None:
    name, check = named
    assert check.quick is not None
    value = data.draw(shaped(dict(check.schema), strict=strict), label=name)
    accepted = openapi_core_accepts(check, value)
    if check.quick(value):
        assert accepted, f"{name}: quick check accepted {value!r}"
    elif strict:
        # Well-formed values must take the quick path, or it saves nothing.
        assert not accepted, f"{name}: quick check refused valid {value!r}"
