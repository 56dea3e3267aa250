"""Fixtures for the web interface tests: a real Manager and Worker, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess, WorkerProcess
from webui.helpers import STATIC, ApiClient

CHROMIUM = Path(os.environ.get("FLAMENCO_TEST_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium as root in a closed network: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _ensure_libraries() -> None:
    """The web interface needs its npm libraries; install them as the README's farm command does."""
    if all(
        (STATIC / "node_modules" / library).is_dir()
        for library in ("vue", "socket.io-client", "uplot")
    ):
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("the web interface's libraries are not installed and npm is missing")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=STATIC, check=True, timeout=300)


@pytest.fixture(scope="session")
def web_libraries() -> None:
    _ensure_libraries()


@pytest.fixture
async def browser(web_libraries: None, tmp_path: Path) -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt install chromium)")
    async with playwright_api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def page(manager: ManagerProcess, browser: Any) -> AsyncIterator[Any]:
    """A browser page, closed before the Manager stops (an open live connection slows its stop)."""
    page = browser.pages[0] if browser.pages else await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
async def manager(tmp_path: Path, database_setting: str) -> AsyncIterator[ManagerProcess]:
    process = ManagerProcess(tmp_path / "manager", tmp_path / "shared", database=database_setting)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def worker(tmp_path: Path, manager: ManagerProcess) -> AsyncIterator[WorkerProcess]:
    process = WorkerProcess(tmp_path / "worker", manager.base_url, name="browser-test-worker")
    yield process
    if process.process is not None:
        await process.stop()


@pytest.fixture
async def api(manager: ManagerProcess) -> AsyncIterator[ApiClient]:
    async with aiohttp.ClientSession() as session:
        yield ApiClient(session, manager.base_url)
