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
from typing import Any

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


# Everything that makes up a schema, by kind, in a form that does not name the schema.
CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
        FROM information_schema.columns WHERE table_schema = current_schema()
        ORDER BY table_name, ordinal_position""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, regexp_replace(indexdef, ' ON \\S+\\.', ' ON ')
        FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2""",
    "storage": """
        SELECT relname, reloptions FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND reloptions IS NOT NULL
        ORDER BY 1""",
    "views": """
        SELECT viewname, definition FROM pg_views
        WHERE schemaname = current_schema() ORDER BY 1""",
}


def describe_schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table, column, constraint, index and view of the schema at `url`, by kind."""
    with psycopg.connect(url) as conn:
        described = {
            kind: conn.execute(query).fetchall() for kind, query in CATALOG_QUERIES.items()
        }
    # The migrations' own bookkeeping table is not part of the farm's schema.
    return {
        kind: [row for row in rows if "schema_migrations" not in str(row[0])]
        for kind, rows in described.items()
    }
