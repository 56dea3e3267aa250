"""Named SQL queries, loaded once from the queries/*.sql files."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

_NAME_LINE = re.compile(r"^--\s*name:\s*(\w+)\s*$")


def parse_queries(text: str) -> dict[str, str]:
    """Split a .sql file into {name: sql} at its `-- name: xxx` header lines."""
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def finish() -> None:
        if name is not None:
            body = "\n".join(line for line in lines if not line.lstrip().startswith("--"))
            queries[name] = body.strip().rstrip(";")

    for line in text.splitlines():
        match = _NAME_LINE.match(line)
        if match:
            finish()
            name, lines = match.group(1), []
            if name in queries:
                raise ValueError(f"query {name!r} is defined twice")
        else:
            lines.append(line)
    finish()
    return queries


def load_queries() -> Mapping[str, str]:
    folder = resources.files(__package__).joinpath("queries")
    queries: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, sql in parse_queries(entry.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} is defined in more than one file")
            queries[name] = sql
    return MappingProxyType(queries)


SQL = load_queries()


def fetch_one(
    conn: sqlite3.Connection,
    name: str,
    params: Mapping[str, Any],
    convert: Callable[[sqlite3.Row], T],
    missing: Exception,
) -> T:
    """Run the named query for exactly one row; raise `missing` when there is none."""
    row = conn.execute(SQL[name], params).fetchone()
    if row is None:
        raise missing
    return convert(row)
