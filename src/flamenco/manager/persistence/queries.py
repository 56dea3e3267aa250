"""Named SQL queries, loaded once per dialect from the queries/ folder.

queries/*.sql hold the queries both databases run as written; queries/sqlite/
and queries/postgresql/ hold each dialect's own text of the others. Every file
uses `:name` parameters; PostgreSQL's loader rewrites them for psycopg.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from importlib import resources
from importlib.abc import Traversable
from types import MappingProxyType
from typing import TypeVar

from flamenco.manager.persistence.connection import Connection, Dialect, Params, Row

T = TypeVar("T")

_NAME_LINE = re.compile(r"^--\s*name:\s*(\w+)\s*$")
# `:name`, but not the `::` of a PostgreSQL cast.
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


# Queries that only one dialect has, because persistence code takes another way on
# the other (record_progress_many, start_scheduling, change_task_status_locking_job:
# one PostgreSQL statement for several of SQLite's; fetch_progress_targets,
# mark_workers_seen and touch_tasks_with_activity: SQLite's record_progress_many).
DIALECT_ONLY_QUERIES: Mapping[str, Dialect] = MappingProxyType(
    {
        "record_progress_many": Dialect.POSTGRESQL,
        "fetch_progress_targets": Dialect.SQLITE,
        "mark_workers_seen": Dialect.SQLITE,
        "touch_tasks_with_activity": Dialect.SQLITE,
        "start_scheduling": Dialect.POSTGRESQL,
        "change_task_status_locking_job": Dialect.POSTGRESQL,
        "lock_resource_limit": Dialect.POSTGRESQL,
    }
)


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


def _load_folder(folder: Traversable) -> dict[str, str]:
    queries: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, sql in parse_queries(entry.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} is defined in more than one file")
            queries[name] = sql
    return queries


def to_psycopg(sql: str) -> str:
    """`:name` parameters as psycopg's `%(name)s`; a literal `%` doubled."""
    return _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


@functools.cache
def load_queries(dialect: Dialect) -> Mapping[str, str]:
    """Every named query in `dialect`'s text, ready for its driver."""
    folder = resources.files(__package__).joinpath("queries")
    queries = _load_folder(folder)
    own = _load_folder(folder.joinpath(dialect.value))
    if overlap := set(own) & set(queries):
        raise ValueError(f"queries both portable and {dialect}-specific: {sorted(overlap)}")
    queries.update(own)
    if dialect is Dialect.POSTGRESQL:
        queries = {name: to_psycopg(sql) for name, sql in queries.items()}
    return MappingProxyType(queries)


def fetch_one(
    conn: Connection,
    name: str,
    params: Params,
    convert: Callable[[Row], T],
    missing: Exception,
) -> T:
    """Run the named query for exactly one row; raise `missing` when there is none."""
    row = conn.execute(name, params).fetchone()
    if row is None:
        raise missing
    return convert(row)


__all__ = ["fetch_one", "load_queries", "parse_queries", "to_psycopg"]
