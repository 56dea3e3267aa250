"""Moving to PostgreSQL: which tables, in which order, and how the two sides are compared."""

from __future__ import annotations

import sqlite3
from importlib import resources

from flamenco.manager.persistence import migrate
from flamenco.manager.persistence.cli import hide_password
from flamenco.manager.persistence.sqlite_to_postgresql import (
    FARM_TABLES,
    TableFigures,
    compare,
)

SCHEMA = resources.files("flamenco.manager.persistence")


def test_every_table_is_copied_after_the_tables_it_refers_to() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate.migrate_blocking(conn)
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    order = [table.name for table in FARM_TABLES]
    assert sorted(order) == sorted(tables)
    for position, name in enumerate(order):
        referred = {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        assert referred <= set(order[:position]), name
    conn.close()


def test_every_table_of_the_postgresql_schema_is_copied() -> None:
    text = SCHEMA.joinpath("schema.postgresql.sql").read_text(encoding="utf-8")
    created = {line.split()[2] for line in text.splitlines() if line.startswith("CREATE TABLE ")}
    assert created == {table.name for table in FARM_TABLES}


def test_checked_columns_are_integer_columns_of_their_table() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate.migrate_blocking(conn)
    for table in FARM_TABLES:
        types = {row[1]: row[2] for row in conn.execute(f'PRAGMA table_info("{table.name}")')}
        assert table.checked_columns
        assert {types[column] for column in table.checked_columns} == {"INTEGER"}
    conn.close()


def test_comparison_names_what_differs() -> None:
    jobs, tasks = FARM_TABLES[3], FARM_TABLES[4]
    assert (jobs.name, tasks.name) == ("jobs", "tasks")
    source = {"jobs": TableFigures(3, (6, 2)), "tasks": TableFigures(10, (55, 20, 4))}
    target = {"jobs": TableFigures(3, (6, 2)), "tasks": TableFigures(9, (45, 17, 4))}

    checks = compare([jobs, tasks], source, target)

    assert [check.matches for check in checks] == [True, False]
    assert checks[0].differences() == []
    assert checks[1].differences() == [
        "10 rows in SQLite, 9 in PostgreSQL",
        "sum of id: 55 in SQLite, 45 in PostgreSQL",
        "sum of job_id: 20 in SQLite, 17 in PostgreSQL",
    ]


def test_same_count_other_rows_is_a_difference() -> None:
    workers = FARM_TABLES[1]
    checks = compare(
        [workers], {"workers": TableFigures(2, (3,))}, {"workers": TableFigures(2, (4,))}
    )
    assert checks[0].differences() == ["sum of id: 3 in SQLite, 4 in PostgreSQL"]


def test_hide_password() -> None:
    assert hide_password("postgresql://flamenco@db/flamenco") == "postgresql://flamenco@db/flamenco"
    assert (
        hide_password("postgresql://flamenco:s3cret@db:5433/flamenco?sslmode=require")
        == "postgresql://flamenco:****@db:5433/flamenco?sslmode=require"
    )
    assert hide_password("postgresql://db/flamenco?user=f&password=s3cret") == (
        "postgresql://db/flamenco?user=f&password=****"
    )
