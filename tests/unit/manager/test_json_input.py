"""The nesting depth of client JSON, counted on the raw bytes, is exact."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flamenco.manager.api.json_input import MAX_DEPTH, InvalidJSON, loads, nesting_depth

# Strings full of the characters that could fool a byte-level count.
tricky_text = st.text(alphabet='[]{}"\\/aé\n\u5b00', max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4)
    ),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


@given(values, st.booleans())
def test_depth_matches_the_parsed_value(value: Any, ensure_ascii: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ensure_ascii).encode()
    assert nesting_depth(raw) == depth_of(value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32-be"])
def test_every_encoding_json_accepts_is_counted(encoding: str) -> None:
    # U+5B00 holds the byte of `[` in UTF-16 and UTF-32.
    at_limit = "[" * MAX_DEPTH + '"\u5b00"' + "]" * MAX_DEPTH
    assert depth_of(loads(at_limit.encode(encoding))) == MAX_DEPTH
    with pytest.raises(InvalidJSON, match="nested more than"):
        loads(f"[{at_limit}]".encode(encoding))


def test_invalid_json_is_a_value_error() -> None:
    for text in (b"{", b"\xff", "[" * 100_000, "9" * 5000):
        with pytest.raises(ValueError):
            loads(text)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    # More openers than MAX_DEPTH, all inside strings: the full count decides.
    text = json.dumps({"log": "[{" * MAX_DEPTH, "nested": [[["]]]"]]]})
    assert depth_of(loads(text.encode())) == 4
