"""The Flamenco OpenAPI specification shared by the Manager, the Worker and the tests."""

from __future__ import annotations

from pathlib import Path

SPEC_PATH = Path(__file__).with_name("flamenco-openapi.yaml")
