"""Every configuration key must be documented in docs/configuration.md."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from flamenco.manager import config

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def flattened_keys(data: Mapping[str, object], prefix: str = "") -> Iterator[str]:
    """Dotted key paths of the settings; `variables` is one key, its content is user data."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and key != "variables":
            yield from flattened_keys(value, f"{path}.")
        else:
            yield path


KEYS = sorted(flattened_keys(config.config_to_json(config.default_config("linux"))))


def test_flattening_finds_nested_keys() -> None:
    assert "_meta.version" in KEYS
    assert "shaman.garbageCollect.maxAge" in KEYS
    assert "mqtt.client.clientID" in KEYS
    assert "variables" in KEYS


@pytest.mark.parametrize("key", KEYS)
def test_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOCS.read_text(encoding="utf-8"), f"{key} is missing from {DOCS.name}"
