"""PostgreSQL: the numbered migrations and schema.postgresql.sql describe the same database."""

from __future__ import annotations

from importlib import resources

import psycopg
import pytest

from flamenco.manager.persistence import postgresql_migrate
from support.postgresql import describe_schema, fresh_schema

SCHEMA_SQL = resources.files("flamenco.manager.persistence").joinpath("schema.postgresql.sql")


def test_migrations_produce_schema_postgresql_sql() -> None:
    with fresh_schema() as migrated, fresh_schema() as written:
        with psycopg.connect(migrated, autocommit=True) as conn:
            postgresql_migrate.migrate_blocking(conn)
        with psycopg.connect(written, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text(encoding="utf-8").encode())
        from_migrations, from_schema = describe_schema(migrated), describe_schema(written)
    assert from_migrations["columns"], "the migrations made no tables"
    assert from_migrations == from_schema


def test_migrations_run_once_and_know_their_version() -> None:
    with fresh_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        applied = postgresql_migrate.migrate_blocking(conn)
        assert applied == [m.name for m in postgresql_migrate.available_migrations()]
        assert postgresql_migrate.migrate_blocking(conn) == []
        assert postgresql_migrate.schema_problem(conn) is None


def test_a_newer_schema_is_named_as_such() -> None:
    with fresh_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        postgresql_migrate.migrate_blocking(conn)
        conn.execute("INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'now')")
        problem = postgresql_migrate.schema_problem(conn)
    assert problem is not None and "newer" in problem


@pytest.mark.parametrize("dialect_folder", ["sqlite", "postgresql"])
def test_each_dialect_defines_every_query(dialect_folder: str) -> None:
    from flamenco.manager.persistence.connection import Dialect
    from flamenco.manager.persistence.queries import DIALECT_ONLY_QUERIES, load_queries

    dialect = Dialect(dialect_folder)
    names = {other: set(load_queries(other)) for other in Dialect}
    everywhere = (names[Dialect.SQLITE] | names[Dialect.POSTGRESQL]) - set(DIALECT_ONLY_QUERIES)
    own = {name for name, owner in DIALECT_ONLY_QUERIES.items() if owner is dialect}
    assert names[dialect] == everywhere | own
