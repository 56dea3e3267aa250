"""Shaman garbage collection on a real Manager's storage: periodic, on demand, and from the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from shaman.helpers import (
    CHECKOUT_URL,
    StartManager,
    content,
    make_old,
    shaman_of,
    spec_of,
    stored_path,
    upload,
    write_config,
)
from support.manager import RunningManager

LINKED = content(1000, seed=10)
UNUSED = content(2000, seed=11)
RECENT = content(3000, seed=12)


async def prepare_storage(manager: RunningManager, shared: Path) -> None:
    """LINKED in a checkout, UNUSED in none; both old. RECENT is in none but new."""
    for data in (LINKED, UNUSED, RECENT):
        await upload(manager.client, data, expect=204)
    await manager.client.post(
        CHECKOUT_URL,
        json_body={"checkoutPath": "project/job", "files": [spec_of(LINKED, "scene.blend")]},
        expect=200,
    )
    make_old(stored_path(shared, LINKED))
    make_old(stored_path(shared, UNUSED))


async def test_gc_deletes_old_unlinked_files_and_keeps_the_rest(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await prepare_storage(shaman_manager, shared_storage)
    shaman = shaman_of(shaman_manager)

    shown = await shaman.collect_garbage(dry_run=True)
    assert shown.deleted == [stored_path(shared_storage, UNUSED)]
    assert stored_path(shared_storage, UNUSED).exists()

    report = await shaman.collect_garbage()

    assert report.deleted == [stored_path(shared_storage, UNUSED)]
    assert (report.old_files, report.still_used_old_files, report.unused_old_files) == (2, 1, 1)
    assert report.symlinks_checked == 1
    assert report.files_deleted == 1 and report.bytes_deleted == len(UNUSED)
    assert not stored_path(shared_storage, UNUSED).exists()
    # Its two checksum directories went with it; the store itself stays.
    assert not stored_path(shared_storage, UNUSED).parent.exists()
    assert not stored_path(shared_storage, UNUSED).parent.parent.exists()
    assert stored_path(shared_storage, LINKED).read_bytes() == LINKED
    assert stored_path(shared_storage, RECENT).read_bytes() == RECENT
    checkout_file = shared_storage / "jobs" / "project" / "job" / "scene.blend"
    assert checkout_file.read_bytes() == LINKED
    status = await shaman_manager.client.get(
        f"/api/v3/shaman/files/{spec_of(UNUSED, '')['sha']}/{len(UNUSED)}", expect=200
    )
    assert status.json() == {"status": "unknown"}


async def test_gc_keeps_files_hard_linked_into_checkouts(
    start_shaman_manager: StartManager, shared_storage: Path
) -> None:
    manager = await start_shaman_manager(link_mode="hardlink")
    await prepare_storage(manager, shared_storage)

    report = await shaman_of(manager).collect_garbage()

    assert report.deleted == [stored_path(shared_storage, UNUSED)]
    assert report.still_used_old_files == 1
    assert stored_path(shared_storage, LINKED).exists()


async def test_gc_after_job_deletion_frees_the_jobs_files(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await prepare_storage(shaman_manager, shared_storage)
    shaman = shaman_of(shaman_manager)
    await shaman.erase_checkout("project/job")

    report = await shaman.collect_garbage()

    assert sorted(report.deleted) == sorted(
        [stored_path(shared_storage, LINKED), stored_path(shared_storage, UNUSED)]
    )


async def test_gc_runs_every_period(
    start_shaman_manager: StartManager, shared_storage: Path
) -> None:
    manager = await start_shaman_manager(period="200ms", max_age="1h")
    await prepare_storage(manager, shared_storage)

    deadline = time.monotonic() + 10
    while stored_path(shared_storage, UNUSED).exists():
        assert time.monotonic() < deadline, "periodic garbage collection did not run"
        await asyncio.sleep(0.05)

    assert stored_path(shared_storage, LINKED).exists()
    assert stored_path(shared_storage, RECENT).exists()


async def test_gc_removes_abandoned_uploads_but_not_live_ones(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    uploading = shared_storage / "file-store" / "uploading" / "ab" / ("c" * 62)
    uploading.mkdir(parents=True)
    abandoned = uploading / "10-000000001.tmp"
    recent = uploading / "10-000000002.tmp"
    abandoned.write_bytes(b"half")
    recent.write_bytes(b"half")
    make_old(abandoned, days=1)

    await shaman_of(shaman_manager).collect_garbage()

    # (The clean-up at start-up may have been the one to remove it.)
    assert not abandoned.exists()
    assert recent.exists()


def run_cli(config_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config_path), *flags],
        cwd=config_path.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_shows_then_deletes_and_exits(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path
) -> None:
    await prepare_storage(shaman_manager, shared_storage)
    config_path = write_config(tmp_path / "cli", shared_storage).path

    shown = await asyncio.to_thread(run_cli, config_path, "--shaman-gc-show")

    assert shown.returncode == 0, shown.stderr
    assert "dry run" in shown.stdout
    assert f"would delete {stored_path(shared_storage, UNUSED)}" in shown.stdout
    assert "old files:             2" in shown.stdout
    assert "still used:            1" in shown.stdout
    assert stored_path(shared_storage, UNUSED).exists()

    deleted = await asyncio.to_thread(run_cli, config_path, "--shaman-gc-delete")

    assert deleted.returncode == 0, deleted.stderr
    assert f"deleted {stored_path(shared_storage, UNUSED)}" in deleted.stdout
    assert f"files deleted:         1 ({len(UNUSED)} bytes)" in deleted.stdout
    assert not stored_path(shared_storage, UNUSED).exists()
    assert stored_path(shared_storage, LINKED).exists()
    assert stored_path(shared_storage, RECENT).exists()
    # It ran once and exited: no database was created for a server.
    assert not (config_path.parent / "flamenco-manager.sqlite").exists()


def test_cli_gc_with_shaman_disabled_says_so(tmp_path: Path) -> None:
    config_path = tmp_path / "flamenco-manager.yaml"
    config_path.write_text(
        "_meta:\n  version: 3\nshared_storage_path: .\nshaman:\n  enabled: false\n",
        encoding="utf-8",
    )

    result = run_cli(config_path, "--shaman-gc-delete")

    assert result.returncode == 2
    assert "Shaman is not enabled" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "file-store")
