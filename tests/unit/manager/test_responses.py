"""Large JSON responses are encoded in pieces, to exactly what json.dumps writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flamenco.manager.api.responses import encode_in_pieces


@pytest.mark.parametrize(
    "value",
    [
        {"jobs": [{"id": "1", "settings": {"frames": "1-10"}}, {"id": "2", "name": 'é "x"'}]},
        {"tasks": [], "jobs": []},
        [1, "two", None, True, 2.5, {"nested": [{"deep": [1]}]}],
        {},
        "just a string",
    ],
)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert encode_in_pieces(value) == json.dumps(value)
