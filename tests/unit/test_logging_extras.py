"""Log calls anywhere in flamenco must not use `extra` keys that LogRecord reserves: those raise."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import flamenco

RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def test_no_reserved_extra_keys() -> None:
    root = Path(flamenco.__file__).parent
    offending = []
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"extra=\{([^}]*)\}", source, re.S):
            offending += [
                f"{path.relative_to(root)}: {key}"
                for key in re.findall(r'"(\w+)":', match.group(1))
                if key in RESERVED
            ]
    assert offending == []
