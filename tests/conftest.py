"""Fixtures shared by every test suite: configuration, a running Manager, HTTP clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flamenco.manager import config
from support.cluster import PrivatePostgres
from support.fakes import FakeClock
from support.manager import RunningManager, run_manager
from support.postgresql import fresh_schema


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # In CI, .ci/run installs every tool the tests need (Blender, FFmpeg, Chromium,
    # Mosquitto, the web libraries), so a test that skips for want of one has
    # found a broken setup: fail it rather than let it pass unseen.
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped and _in_ci():
        report.outcome = "failed"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A selection that matches no tests (say, a marker with none left) is not a failure.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


MANAGER_YAML = """\
_meta:
  version: 3
manager_name: Test Farm
database: {database}
listen: 127.0.0.1:0
autodiscoverable: false
local_manager_storage_path: ./storage
shared_storage_path: {shared}
shaman:
  enabled: false
task_timeout: 10m0s
worker_timeout: 1m0s
blocklist_threshold: 3
task_fail_after_softfail_count: 3
variables:
  blender:
    values:
      - platform: all
        value: blender
  blenderArgs:
    values:
      - platform: all
        value: -b -y
"""


@pytest.fixture
def shared_storage(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Which database the test Manager uses: every Manager test runs on both.

    A test that only makes sense on one asks for it with
    `@pytest.mark.parametrize("database", ["sqlite"], indirect=True)`.
    """
    return str(request.param)


@pytest.fixture
def database_setting(database: str) -> Iterator[str]:
    """The `database` setting: an SQLite file, or a fresh schema in PostgreSQL."""
    if database == "sqlite":
        yield "flamenco-manager.sqlite"
        return
    with fresh_schema() as url:
        yield url


@pytest.fixture
def manager_yaml(tmp_path: Path, shared_storage: Path, database_setting: str) -> Path:
    path = tmp_path / "flamenco-manager.yaml"
    text = MANAGER_YAML.format(shared=shared_storage, database=database_setting)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def manager_config(manager_yaml: Path) -> config.LoadedConfig:
    return config.load_config(manager_yaml)


ConfigMaker = Callable[..., config.LoadedConfig]


@pytest.fixture
def make_manager_config(manager_yaml: Path) -> ConfigMaker:
    """Write the test configuration with some keys changed, and load it."""

    def make(**overrides: Any) -> config.LoadedConfig:
        settings = yaml.safe_load(manager_yaml.read_text(encoding="utf-8"))
        settings.update(overrides)
        manager_yaml.write_text(yaml.safe_dump(settings), encoding="utf-8")
        return config.load_config(manager_yaml)

    return make


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, running, to stop and start again."""
    server = PrivatePostgres()
    server.create()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def manager(manager_config: config.LoadedConfig) -> AsyncIterator[RunningManager]:
    """A Manager with the real clock, serving on a loopback port."""
    async for running in run_manager(manager_config):
        yield running
