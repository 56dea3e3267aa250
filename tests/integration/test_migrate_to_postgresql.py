"""`flamenco-manager --migrate-database`: a farm moves from SQLite to PostgreSQL and carries on."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import ConfigMaker
from flamenco.manager import config
from flamenco.manager.persistence import migrate, postgresql_migrate, sqlite_to_postgresql
from flamenco.manager.services import job_deleter
from support.busy_farm import (
    BUSY_FARM_SETTINGS,
    FARM_TABLES,
    farm_as_seen,
    never_delete_jobs,
    run_a_busy_farm,
)
from support.jobs import submit_echo_sleep
from support.manager import run_manager
from support.postgresql import describe_schema, fresh_schema
from support.worker_session import WorkerSession


@pytest.fixture
def database() -> str:
    """The farm starts on SQLite; the tests move it."""
    return "sqlite"


@pytest.fixture
def target() -> Iterator[str]:
    """An empty PostgreSQL schema to move the farm into."""
    with fresh_schema() as url:
        yield url


def migrate_database(loaded: config.LoadedConfig, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flamenco.manager",
            "--config",
            str(loaded.path),
            "--migrate-database",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in `folder` (not below) with a hash of its contents."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


def farm_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        present = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in sorted(FARM_TABLES & present)
        }


async def start_small_farm(loaded: config.LoadedConfig) -> None:
    """One Worker and one job (whose sleep task depends on its echo task), on SQLite."""
    async for running in run_manager(loaded):
        await WorkerSession(running.client).start()
        await submit_echo_sleep(running.client, repeats=1)


async def test_busy_farm_moves_to_postgresql_and_carries_on(
    make_manager_config: ConfigMaker, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    on_sqlite = make_manager_config(**BUSY_FARM_SETTINGS)
    with monkeypatch.context() as patched:
        patched.setattr(job_deleter.JobDeleter, "run", never_delete_jobs)
        async for running in run_manager(on_sqlite):
            farm = await run_a_busy_farm(running)
            before = await farm_as_seen(running.client, farm)
    files_before = fingerprint(on_sqlite.config_dir)
    with contextlib.closing(sqlite3.connect(on_sqlite.database_path)) as conn:
        highest_job_id = conn.execute("SELECT max(id) FROM jobs").fetchone()[0]

    result = await asyncio.to_thread(migrate_database, on_sqlite, target)

    assert result.returncode == 0, result.stderr
    assert f"All {len(sqlite_to_postgresql.FARM_TABLES)} tables match" in result.stdout
    assert f"database: {target}" in result.stdout
    assert "local_manager_storage_path" in result.stdout
    # The SQLite file (and everything beside it) is as it was: nothing written, nothing left over.
    assert fingerprint(on_sqlite.config_dir) == files_before
    assert not list(on_sqlite.config_dir.glob(".migrating*"))
    assert {table for table, count in farm_rows(target).items() if count == 0} == set()
    # Dropping and restoring indexes and foreign keys for speed leaves the schema as migrated.
    with fresh_schema() as migrated:
        with psycopg.connect(migrated, autocommit=True) as conn:
            postgresql_migrate.migrate_blocking(conn)
        assert describe_schema(target) == describe_schema(migrated)

    on_postgresql = make_manager_config(database=target)
    assert on_postgresql.uses_postgresql
    with monkeypatch.context() as patched:
        patched.setattr(job_deleter.JobDeleter, "run", never_delete_jobs)
        async for running in run_manager(on_postgresql):
            client = running.client
            assert await farm_as_seen(client, farm) == before

            # A Worker registered on SQLite signs on with the credentials it has.
            steady = WorkerSession(client, name="steady")
            steady.uuid, steady.secret = farm.steady.uuid, farm.steady.secret
            await steady.state_changed(await steady.sign_on())
            task = await steady.next_task()
            assert task["job"] in {job["id"] for job in before["jobs"]}
            await steady.complete(task)

            # New rows get new ids: no collision with a copied one.
            newcomer = WorkerSession(client, name="newcomer")
            await newcomer.start()
            await client.post("/api/v3/worker-mgt/tags", json_body={"name": "cpu"}, expect=200)
            new_job = await submit_echo_sleep(client, name="after the move")
            await client.post(
                f"/api/v3/worker-mgt/workers/{newcomer.uuid}/sleep-schedule",
                json_body={
                    "is_active": False,
                    "days_of_week": "",
                    "start_time": "9:00",
                    "end_time": "17:00",
                },
                expect=204,
            )
            with psycopg.connect(target) as conn:
                new_id = conn.execute(
                    "SELECT id FROM jobs WHERE uuid = %s", (new_job["id"],)
                ).fetchone()
            assert new_id == (highest_job_id + 1,)

    # Without the pause, the Manager on PostgreSQL finishes the deletion begun on SQLite.
    async for running in run_manager(on_postgresql):
        async with asyncio.timeout(10):
            while (await running.client.get(f"/api/v3/jobs/{farm.doomed}")).status != 404:
                await asyncio.sleep(0.05)


async def test_schema_of_an_older_manager_is_upgraded_in_a_snapshot(
    manager_config: config.LoadedConfig, target: str
) -> None:
    path = manager_config.database_path
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate.migrate_blocking(conn, up_to=2)
        conn.execute(
            "INSERT INTO workers (created_at, uuid, secret, name) VALUES "
            "('2024-01-02T03:04:05Z', 'b3d05d4e-8d6b-4c8e-9a4f-3a7c1f7a0e01', 'hash', 'old')"
        )
    before = path.read_bytes()

    result = migrate_database(manager_config, target)

    assert result.returncode == 0, result.stderr
    assert "brought the snapshot's schema up to date (0003_" in result.stdout
    assert path.read_bytes() == before
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert farm_rows(target)["workers"] == 1


async def test_worker_secrets_of_any_length_still_sign_on_after_the_move(
    manager_config: config.LoadedConfig, make_manager_config: ConfigMaker, target: str
) -> None:
    """Stored hashes are copied as they are; those of secrets past bcrypt's 72 bytes too."""
    async for running in run_manager(manager_config):
        workers = [WorkerSession(running.client, name=name) for name in ("short", "long")]
        workers[1].secret = "long-secret-" * 20
        for worker in workers:
            await worker.register()

    result = await asyncio.to_thread(migrate_database, manager_config, target)
    assert result.returncode == 0, result.stderr

    async for running in run_manager(make_manager_config(database=target)):
        for worker in workers:
            worker.client = running.client
            assert await worker.sign_on() == "awake"


async def test_refuses_a_target_that_holds_a_farm(
    manager_config: config.LoadedConfig, target: str
) -> None:
    await start_small_farm(manager_config)
    assert migrate_database(manager_config, target).returncode == 0
    rows = farm_rows(target)

    again = migrate_database(manager_config, target)

    assert again.returncode == 2
    assert "already holds farm data (workers: 1, jobs: 1, tasks: 2" in again.stderr
    assert "Nothing was copied" in again.stderr
    assert "Traceback" not in again.stderr
    assert farm_rows(target) == rows


async def test_refuses_while_a_manager_runs_on_the_sqlite_file(
    manager_config: config.LoadedConfig, target: str
) -> None:
    async for _ in run_manager(manager_config):
        result = await asyncio.to_thread(migrate_database, manager_config, target)
    assert result.returncode == 2
    assert "in use by another program, probably a running Manager: stop it first" in result.stderr
    assert farm_rows(target) == {}


def test_refuses_when_postgresql_is_already_configured(
    make_manager_config: ConfigMaker, target: str
) -> None:
    loaded = make_manager_config(database=target)
    result = migrate_database(loaded, target)
    assert result.returncode == 2
    assert "already uses PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_missing_sqlite_file(manager_config: config.LoadedConfig, target: str) -> None:
    result = migrate_database(manager_config, target)
    assert result.returncode == 2
    assert f"there is no SQLite database at {manager_config.database_path}" in result.stderr
    assert not manager_config.database_path.exists()


def test_refuses_a_url_that_is_not_postgresql(manager_config: config.LoadedConfig) -> None:
    result = migrate_database(manager_config, "/srv/flamenco/other.sqlite")
    assert result.returncode == 2
    assert "needs the URL of a PostgreSQL database" in result.stderr


def test_refuses_a_damaged_sqlite_database(
    manager_config: config.LoadedConfig, target: str
) -> None:
    manager_config.database_path.write_bytes(b"garbage" * 1000)
    result = migrate_database(manager_config, target)
    assert result.returncode == 2
    assert "cannot migrate" in result.stderr
    assert "--recover-database" in result.stderr
    assert "Traceback" not in result.stderr
    assert manager_config.database_path.read_bytes() == b"garbage" * 1000


async def test_a_copy_that_does_not_match_is_rolled_back(
    manager_config: config.LoadedConfig, target: str
) -> None:
    await start_small_farm(manager_config)
    # Something on the server quietly drops a row as it arrives.
    with psycopg.connect(target, autocommit=True) as conn:
        postgresql_migrate.migrate_blocking(conn)
        conn.execute(
            "CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER drop_dependencies BEFORE INSERT ON task_dependencies "
            "FOR EACH ROW EXECUTE FUNCTION drop_row()"
        )

    result = migrate_database(manager_config, target)

    assert result.returncode == 1
    assert "task_dependencies" in result.stdout
    assert "MISMATCH: 1 rows in SQLite, 0 in PostgreSQL" in result.stdout
    assert "rolled back" in result.stderr
    assert "PostgreSQL holds none of the farm's rows" in result.stderr
    assert set(farm_rows(target).values()) == {0}
