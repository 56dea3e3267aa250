"""A PostgreSQL schema of its own for each test, on the server the tests are pointed at.

FLAMENCO_TEST_POSTGRESQL_URL names the server and database (default: the local
server with trust authentication, database `test`, as on our machines and in CI).
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("FLAMENCO_TEST_POSTGRESQL_URL", DEFAULT_URL)


def url_with_schema(base: str, schema: str) -> str:
    """`base` with every connection's search_path set to `schema`."""
    parts = urllib.parse.urlsplit(base)
    query = urllib.parse.parse_qsl(parts.query)
    query.append(("options", f"-csearch_path={schema}"))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@contextmanager
def fresh_schema(base: str | None = None) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    base = base or server_url()
    schema = f"flamenco_test_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield url_with_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
