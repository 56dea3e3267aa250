"""Checks that our OpenAPI spec is valid and covers the Flamenco 3 API."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_spec_validator import validate

from flamenco.api import SPEC_PATH

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
API_COVERAGE = SHARED / "tools" / "api-coverage"
REFERENCE_SPEC = SHARED / "reference" / "flamenco-3-openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Operation = tuple[str, str, dict[str, Any]]


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    """Yield (method, path, operation) for every operation in the document."""
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def require_shared() -> None:
    if not API_COVERAGE.exists() or not REFERENCE_SPEC.exists():
        pytest.skip(f"shared references not found at {SHARED}")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_yaml(SPEC_PATH)


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.0.")
    OpenAPI.from_path(SPEC_PATH)


def test_api_coverage_is_complete() -> None:
    require_shared()
    result = subprocess.run(
        [sys.executable, str(API_COVERAGE), "--strict"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_operation_has_default_and_unique_id(spec: dict[str, Any]) -> None:
    without_default = [
        f"{method} {path}"
        for method, path, operation in operations(spec)
        if "default" not in operation.get("responses", {})
    ]
    assert without_default == []

    ids = Counter(operation.get("operationId") for _, _, operation in operations(spec))
    assert None not in ids, "every operation needs an operationId"
    assert [name for name, count in ids.items() if count > 1] == []


def test_operation_ids_match_reference(spec: dict[str, Any]) -> None:
    require_shared()
    reference = load_yaml(REFERENCE_SPEC)
    reference_ids = {operation["operationId"] for _, _, operation in operations(reference)}
    reference_endpoints = {(method, path) for method, path, _ in operations(reference)}
    extension_ids = {
        operation["operationId"]
        for method, path, operation in operations(spec)
        if (method, path) not in reference_endpoints
    }
    our_ids = {operation["operationId"] for _, _, operation in operations(spec)}
    assert our_ids - extension_ids == reference_ids
