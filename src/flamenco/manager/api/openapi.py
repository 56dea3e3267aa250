"""The OpenAPI spec at run time: operations compiled once, and request validation against them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.validation.schemas import oas30_write_schema_validators_factory
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_core.validation.schemas.validators import SchemaValidator

from flamenco.manager.api import fast_schema, json_input
from flamenco.manager.errors import RequestRefused

METHODS = ("get", "put", "post", "delete", "patch")
JSON_CONTENT_TYPE = "application/json"
# Longest error message that quotes a client's value.
MAX_MESSAGE = 500


class RequestInvalid(RequestRefused):
    """The request does not match the spec."""


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """openapi-core's validator for one schema, with a quick check tried first."""

    schema: Mapping[str, Any]
    validator: SchemaValidator
    quick: fast_schema.Check | None

    def validate(self, value: Any, what: str) -> None:
        """Raise RequestInvalid, naming `what` and where, unless the value is valid."""
        if self.quick is not None and self.quick(value):
            return
        try:
            self.validator.validate(value)
        except InvalidSchemaValue as error:
            raise RequestInvalid(_describe(error, what)) from None


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema_type: str
    check: SchemaCheck


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    json_body: SchemaCheck | None
    # Bodies that handlers stream themselves, such as uploads and images.
    raw_content_types: frozenset[str]
    needs_worker_auth: bool


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    """A request's parameters and body, as checked against its operation."""

    operation: Operation
    path: Mapping[str, Any]
    headers: Mapping[str, Any]
    query: Mapping[str, Any]
    body: Any


class Spec:
    """The parsed spec and its operations, built once per process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Loading through openapi-core also checks that the spec itself is valid.
        self.openapi = OpenAPI.from_path(path)
        self.as_json = json.dumps(self.document).encode()
        self.operations = {
            op.operation_id: op for op in _compile_operations(self.document, self.openapi.spec)
        }


@functools.lru_cache(maxsize=4)
def load_spec(path: Path) -> Spec:
    return Spec(path)


def _compile_operations(document: dict[str, Any], spec: SchemaPath) -> list[Operation]:
    operations = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            op_path = spec / "paths" / path / method
            parameters = [
                _compile_parameter(document, spec, spec / "paths" / path / "parameters" / index)
                for index in range(len(item.get("parameters", [])))
            ] + [
                _compile_parameter(document, spec, op_path / "parameters" / index)
                for index in range(len(op.get("parameters", [])))
            ]
            body = op.get("requestBody") or {}
            content = body.get("content") or {}
            json_body = None
            if JSON_CONTENT_TYPE in content:
                schema_path = op_path / "requestBody" / "content" / JSON_CONTENT_TYPE / "schema"
                json_body = _compile_schema(
                    document, spec, schema_path, content[JSON_CONTENT_TYPE]["schema"]
                )
            operations.append(
                Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    path=path,
                    parameters=tuple(parameters),
                    body_required=bool(body.get("required")),
                    json_body=json_body,
                    raw_content_types=frozenset(c for c in content if c != JSON_CONTENT_TYPE),
                    needs_worker_auth=any(
                        "worker_auth" in requirement for requirement in op.get("security", [])
                    ),
                )
            )
    return operations


def _compile_schema(
    document: dict[str, Any], spec: SchemaPath, path: SchemaPath, schema: dict[str, Any]
) -> SchemaCheck:
    factory = oas30_write_schema_validators_factory
    return SchemaCheck(
        schema=schema,
        validator=factory.create(spec, path),
        quick=fast_schema.compile_schema(schema, document, factory.format_checker),
    )


def _compile_parameter(
    document: dict[str, Any], spec: SchemaPath, parameter_path: SchemaPath
) -> Parameter:
    with parameter_path.resolve() as resolved:
        parameter: dict[str, Any] = dict(resolved.contents)  # type: ignore[arg-type]
    schema_path = parameter_path / "schema"
    with schema_path.resolve() as resolved:
        schema: dict[str, Any] = dict(resolved.contents)  # type: ignore[arg-type]
    schema_type = str(schema.get("type", "string"))
    return Parameter(
        name=parameter["name"],
        location=parameter["in"],
        required=bool(parameter.get("required")),
        schema_type=schema_type,
        check=_compile_schema(document, spec, schema_path, schema),
    )


def validate_parameters(
    operation: Operation,
    path_values: Mapping[str, str],
    header_values: Mapping[str, str],
    query_values: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sources = {"path": path_values, "header": header_values, "query": query_values}
    results: dict[str, dict[str, Any]] = {"path": {}, "header": {}, "query": {}}
    for parameter in operation.parameters:
        source = sources.get(parameter.location)
        if source is None:
            continue
        raw = source.get(parameter.name)
        if raw is None:
            if parameter.required:
                raise RequestInvalid(
                    f"missing required {parameter.location} parameter {parameter.name!r}"
                )
            continue
        value = _cast(parameter, raw)
        parameter.check.validate(value, f"{parameter.location} parameter {parameter.name!r}")
        results[parameter.location][parameter.name] = value
    return results["path"], results["header"], results["query"]


def _cast(parameter: Parameter, raw: str) -> Any:
    kind = parameter.schema_type
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        raise RequestInvalid(
            f"{parameter.location} parameter {parameter.name!r} must be a {kind}, not {raw!r}"
        ) from None
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise RequestInvalid(
            f"{parameter.location} parameter {parameter.name!r} must be true or false, not {raw!r}"
        )
    return raw


def parse_json_body(operation: Operation, raw: bytes) -> Any:
    if not raw:
        if operation.body_required:
            raise RequestInvalid("request body is required")
        return None
    try:
        body = json_input.loads(raw)
    except json_input.InvalidJSON as error:
        raise RequestInvalid(f"request body {error}") from None
    assert operation.json_body is not None
    operation.json_body.validate(body, "request body")
    return body


def _describe(error: InvalidSchemaValue, what: str) -> str:
    """One line naming where the value is wrong, like `request body: settings.frames: ...`."""
    if not error.schema_errors:
        return f"{what} is not valid"
    schema_errors: list[Any] = list(error.schema_errors)
    first = min(schema_errors, key=lambda e: len(e.absolute_path))
    location = ".".join(str(part) for part in first.absolute_path)
    message = f"{what}: {location}: {first.message}" if location else f"{what}: {first.message}"
    # jsonschema quotes the offending value whole, which may be megabytes long.
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
