"""The first-run setup assistant in a real browser: storage check, Blender check, review, save."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.manager_process import ManagerProcess
from webui.helpers import screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


@pytest.fixture
async def manager(tmp_path: Path) -> Any:
    """A Manager on its first run, replacing the usual one for this module."""
    process = ManagerProcess(tmp_path / "manager", tmp_path / "unused")
    text = process.config_path.read_text(encoding="utf-8")
    # No shared storage configured: the Manager is not set up yet.
    process.config_path.write_text(
        re.sub(r"(?m)^shared_storage_path: .*$", 'shared_storage_path: ""', text), encoding="utf-8"
    )
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def fake_blender(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / "blender"
    program.write_text("#!/bin/sh\necho 'Blender 4.2.3 LTS'\n", encoding="utf-8")
    program.chmod(0o755)
    return program


async def test_first_run_walks_through_the_setup_assistant(
    manager: ManagerProcess, page: Any, tmp_path: Path
) -> None:
    storage = tmp_path / "farm-storage"
    storage.mkdir()
    blender = fake_blender(tmp_path / "blender-install")

    await page.goto(manager.base_url + "/app/")
    assistant = page.get_by_test_id("setup-assistant")
    await expect(assistant.get_by_role("heading", name="Welcome to Flamenco")).to_be_visible()
    await screenshot(page, "setup-assistant-welcome")
    await page.get_by_role("button", name="Next").click()

    # Shared storage: an unusable path is refused, a real folder accepted.
    await expect(page.get_by_role("heading", name="Shared storage")).to_be_visible()
    path = page.get_by_test_id("storage-path")
    await path.fill(str(tmp_path / "does-not-exist"))
    await page.get_by_role("button", name="Check").click()
    await expect(page.get_by_test_id("storage-result")).to_contain_text("Not usable")
    await expect(page.get_by_role("button", name="Next")).to_be_disabled()
    await path.fill(str(storage))
    await page.get_by_role("button", name="Check").click()
    await expect(page.get_by_test_id("storage-result")).to_contain_text("Usable")
    await page.get_by_role("button", name="Next").click()

    # Blender: point at one and have the Manager check it.
    await expect(page.get_by_role("heading", name="Blender", exact=True)).to_be_visible()
    await page.get_by_test_id("blender-path").fill(str(blender))
    await page.get_by_role("button", name="Check").click()
    await expect(page.get_by_role("radio", checked=True)).to_be_visible()
    await expect(page.get_by_text(str(blender)).first).to_be_visible()
    await page.get_by_role("button", name="Next").click()

    # Review and save.
    await expect(page.get_by_role("heading", name="Review")).to_be_visible()
    await expect(page.get_by_text(str(storage))).to_be_visible()
    await screenshot(page, "setup-assistant-review")
    await page.get_by_test_id("setup-confirm").click()
    await expect(page.get_by_role("heading", name="Setup saved")).to_be_visible()

    # The Manager restarts itself with the new configuration, and the page
    # comes back as the normal web interface.
    await expect(page.get_by_test_id("setup-assistant")).to_have_count(0, timeout=20_000)
    written = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    assert written["shared_storage_path"] == str(storage)
    assert {value["value"] for value in written["variables"]["blender"]["values"]} == {str(blender)}
