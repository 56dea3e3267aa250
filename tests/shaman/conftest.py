"""Fixtures for the Shaman tests: real Managers with Shaman enabled, on loopback ports."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shaman.helpers import StartManager, write_config
from support.manager import RunningManager, run_manager


@pytest.fixture
async def start_shaman_manager(tmp_path: Path, shared_storage: Path) -> AsyncIterator[StartManager]:
    """Starts Managers with Shaman on; keyword arguments are settings (see write_config)."""
    numbers = itertools.count()
    async with contextlib.AsyncExitStack() as stack:

        async def start(**options: Any) -> RunningManager:
            directory = tmp_path / f"manager-{next(numbers)}"
            loaded = write_config(directory, shared_storage, **options)
            return await stack.enter_async_context(
                contextlib.asynccontextmanager(run_manager)(loaded)
            )

        yield start


@pytest.fixture
async def shaman_manager(start_shaman_manager: StartManager) -> RunningManager:
    return await start_shaman_manager()
