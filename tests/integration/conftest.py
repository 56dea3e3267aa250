"""Fixtures of the integration tests: the persistence layer on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flamenco.manager.persistence import Database, open_database


@pytest.fixture
async def db(tmp_path: Path, database_setting: str) -> AsyncIterator[Database]:
    """A fresh database, on each database the Manager runs on."""
    location = database_setting if "://" in database_setting else tmp_path / "test.sqlite"
    database = await open_database(location, busy_timeout_ms=5_000)
    yield database
    await database.close()
