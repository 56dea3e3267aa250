"""Parsing JSON from clients: refused with a ValueError when invalid or nested too deeply.

Python's json module recurses once per level of nesting, so a body of a few
thousand `[` raises RecursionError; a value that parses but nests nearly as
deep breaks later, wherever it is encoded or decoded again (storage, events,
responses). Nothing our spec describes nests more than a few levels, so values
deeper than MAX_DEPTH are refused before they are parsed.
"""

from __future__ import annotations

import array
import itertools
import json
from typing import Any

# Levels of arrays and objects a client may send. Other JSON libraries choose
# similar limits (Ruby's json: 100, serde_json: 128).
MAX_DEPTH = 100

_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in _STRUCTURE)
# Openers to 1 and closers to -1 once read as signed bytes.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class InvalidJSON(ValueError):
    """The text is not JSON, or nests more than MAX_DEPTH levels; says so after a subject."""


def loads(text: str | bytes) -> Any:
    """The value of a JSON text from a client; InvalidJSON (a ValueError) if refused."""
    try:
        if isinstance(text, bytes):
            # json.loads() also takes UTF-16 and UTF-32, in which a bracket is
            # not one byte: those are decoded here, and counted in UTF-8.
            encoding = json.detect_encoding(text)
            if encoding not in ("utf-8", "utf-8-sig"):
                text = text.decode(encoding, "surrogatepass")
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        # A text cannot nest deeper than it has openers: most bodies, a Worker's task
        # update among them, are judged by two counts instead of a full scan.
        if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH or nesting_depth(raw) <= MAX_DEPTH:
            return json.loads(text)
    except RecursionError:
        pass  # Unreachable below MAX_DEPTH on a sane stack; still never a 500.
    except ValueError as error:
        # Also a number of more than 4,300 digits, which Python refuses to convert.
        raise InvalidJSON(f"is not valid JSON: {error}") from None
    raise InvalidJSON(f"is nested more than {MAX_DEPTH} levels deep")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text; exact for valid JSON.

    Done with whole-buffer byte operations, since a Shaman checkout body can hold
    megabytes: about 2 ms for 10,000 files, against 5 ms for json.loads itself.
    """
    if b"\\" in raw:
        # Only escaped quotes matter to where strings end. Escaped backslashes go
        # first, so that the quote in `\\"` still closes its string.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Keep quotes and brackets only. Two quotes in a row, an empty string or the
    # gap between two strings, change nothing about what lies inside strings.
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        # Strings with brackets in them: every other piece is outside a string.
        structure = b"".join(structure.split(b'"')[::2])
    return max(itertools.accumulate(array.array("b", structure.translate(_STEPS))), default=0)
