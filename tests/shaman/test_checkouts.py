"""Shaman checkouts over real HTTP: requirements, link trees, hostile paths, link modes, erasure."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from flamenco.shaman.links import Linker, LinkMode
from shaman.helpers import (
    CHECKOUT_URL,
    REQUIREMENTS_URL,
    StartManager,
    content,
    files_below,
    make_old,
    sha256,
    shaman_of,
    spec_of,
    stored_path,
    upload,
)
from support.jobs import submit_echo_sleep
from support.manager import RunningManager

BLEND = content(5000, seed=1)
TEXTURE = content(3000, seed=2)
SCRIPT = content(100, seed=3)


async def store(manager: RunningManager, *files: bytes) -> None:
    for data in files:
        await upload(manager.client, data, expect=(204, 208))


def scene_files() -> list[dict[str, Any]]:
    return [
        spec_of(BLEND, "scene.blend"),
        spec_of(TEXTURE, "textures/wood.png"),
        spec_of(SCRIPT, "много ликова/ránið.py"),
    ]


async def checkout(
    manager: RunningManager, path: str, files: list[dict[str, Any]], expect: int = 200
) -> Any:
    reply = await manager.client.post(
        CHECKOUT_URL, json_body={"checkoutPath": path, "files": files}, expect=expect
    )
    return reply.json()


def jobs_dir(shared: Path) -> Path:
    return shared / "jobs"


async def test_requirements_list_missing_files_once_and_touch_stored_ones(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await store(shaman_manager, BLEND)
    make_old(stored_path(shared_storage, BLEND))
    files = [*scene_files(), spec_of(TEXTURE, "copy/of/wood.png")]

    reply = await shaman_manager.client.post(
        REQUIREMENTS_URL, json_body={"files": files}, expect=200
    )

    assert reply.json() == {
        "files": [
            {**spec_of(TEXTURE, "textures/wood.png"), "status": "unknown"},
            {**spec_of(SCRIPT, "много ликова/ránið.py"), "status": "unknown"},
        ]
    }
    assert stored_path(shared_storage, BLEND).stat().st_mtime > time.time() - 60


async def test_requirements_refuse_bad_checksums(shaman_manager: RunningManager) -> None:
    reply = await shaman_manager.client.post(
        REQUIREMENTS_URL,
        json_body={"files": [{"sha": "../../etc", "size": 1, "path": "x"}]},
        expect=400,
    )
    assert "checksum" in reply.json()["message"]


async def test_checkout_makes_relative_symlinks_to_stored_files(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await store(shaman_manager, BLEND, TEXTURE, SCRIPT)
    for data in (BLEND, TEXTURE, SCRIPT):
        make_old(stored_path(shared_storage, data))

    result = await checkout(shaman_manager, "Sprite-Fright/shot 1/job", scene_files())

    assert result == {"checkoutPath": "Sprite-Fright/shot 1/job"}
    root = jobs_dir(shared_storage) / "Sprite-Fright" / "shot 1" / "job"
    link = root / "textures" / "wood.png"
    assert link.is_symlink()
    sha = sha256(TEXTURE)
    assert os.readlink(link) == os.path.join(
        "..", "..", "..", "..", "..", "file-store", "stored", sha[:2], sha[2:], "3000.blob"
    )
    assert link.read_bytes() == TEXTURE
    assert (root / "scene.blend").read_bytes() == BLEND
    assert (root / "много ликова" / "ránið.py").read_bytes() == SCRIPT
    # The files in use were marked as used just now, for garbage collection.
    for data in (BLEND, TEXTURE, SCRIPT):
        assert stored_path(shared_storage, data).stat().st_mtime > time.time() - 60


async def test_taken_checkout_path_gets_a_random_suffix(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await store(shaman_manager, BLEND)
    files = [spec_of(BLEND, "scene.blend")]

    first = await checkout(shaman_manager, "project/job", files)
    second = await checkout(shaman_manager, "project/job", files)
    third = await checkout(shaman_manager, "project/job/", files)

    assert first == {"checkoutPath": "project/job"}
    paths = {second["checkoutPath"], third["checkoutPath"]}
    assert len(paths) == 2
    for path in paths:
        assert re.fullmatch(r"project/job-[a-z0-9]{4}", path)
        assert (jobs_dir(shared_storage) / path / "scene.blend").read_bytes() == BLEND


async def test_checkout_with_files_not_uploaded_is_424_and_creates_nothing(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await store(shaman_manager, BLEND)

    reply = await checkout(shaman_manager, "job", scene_files(), expect=424)

    assert "textures/wood.png" in reply["message"]
    assert files_below(jobs_dir(shared_storage)) == []
    assert not (jobs_dir(shared_storage) / "job").exists()


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc",
        "/",
        "../outside",
        "job/../../outside",
        "job/..",
        "./job",
        "job//x",
        "c:/windows",
        "C:\\Windows",
        "\\\\server\\share",
        "..\\..\\outside",
        "what?",
        "a*b",
        "a;b",
        "{x}",
        "line\nbreak",
    ],
)
async def test_hostile_checkout_paths_are_400(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path, path: str
) -> None:
    await store(shaman_manager, BLEND)
    before = files_below(tmp_path)

    reply = await checkout(shaman_manager, path, [spec_of(BLEND, "scene.blend")], expect=400)

    assert "checkout path" in reply["message"]
    assert files_below(tmp_path) == before


async def test_checkout_never_goes_through_a_symlink_under_jobs(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path
) -> None:
    await store(shaman_manager, BLEND)
    outside = tmp_path / "outside"
    outside.mkdir()
    (jobs_dir(shared_storage) / "project").symlink_to(outside, target_is_directory=True)
    (jobs_dir(shared_storage) / "direct").symlink_to(outside, target_is_directory=True)
    files = [spec_of(BLEND, "scene.blend")]

    reply = await checkout(shaman_manager, "project/job", files, expect=400)
    assert "not a directory" in reply["message"]
    # A link as the checkout directory itself just counts as taken.
    result = await checkout(shaman_manager, "direct", files)

    assert re.fullmatch(r"direct-[a-z0-9]{4}", result["checkoutPath"])
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "file_path",
    ["/etc/passwd", "../escape.blend", "sub/../../escape.blend", "c:/x.blend", "..", "", "."],
)
async def test_hostile_file_paths_are_400_and_create_nothing(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path, file_path: str
) -> None:
    await store(shaman_manager, BLEND)
    before = files_below(tmp_path)

    reply = await checkout(shaman_manager, "job", [spec_of(BLEND, file_path)], expect=400)

    assert "file path" in reply["message"]
    assert files_below(tmp_path) == before
    assert list(jobs_dir(shared_storage).iterdir()) == []


async def test_conflicting_file_paths_are_400(shaman_manager: RunningManager) -> None:
    await store(shaman_manager, BLEND, TEXTURE)

    await checkout(
        shaman_manager, "job", [spec_of(BLEND, "a.blend"), spec_of(TEXTURE, "a.blend")], expect=400
    )
    await checkout(
        shaman_manager, "job", [spec_of(BLEND, "a"), spec_of(TEXTURE, "a/b.png")], expect=400
    )
    # The same file twice is fine, as upstream (BAT lists some UDIM tiles twice).
    await checkout(shaman_manager, "job", [spec_of(BLEND, "a.blend"), spec_of(BLEND, "a.blend")])


async def test_failed_checkout_is_erased_completely(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await store(shaman_manager, BLEND, TEXTURE, SCRIPT)
    shaman = shaman_of(shaman_manager)
    made: list[str] = []

    def symlink_until_third(target: str, link: Path) -> None:
        if len(made) == 2:
            raise OSError(errno.EIO, "disk trouble")
        os.symlink(target, link)
        made.append(target)

    shaman.checkouts.linker = Linker(LinkMode.SYMLINK, symlink=symlink_until_third)

    reply = await checkout(shaman_manager, "deep/down/job", scene_files(), expect=500)

    assert reply["code"] == 500
    assert len(made) == 2
    assert list(jobs_dir(shared_storage).iterdir()) == []


@pytest.mark.parametrize("link_mode", ["hardlink", "copy"])
async def test_forced_link_modes_make_correct_checkouts(
    start_shaman_manager: StartManager, shared_storage: Path, link_mode: str
) -> None:
    manager = await start_shaman_manager(link_mode=link_mode)
    await store(manager, BLEND, TEXTURE, SCRIPT)

    result = await checkout(manager, "job", scene_files())

    root = jobs_dir(shared_storage) / result["checkoutPath"]
    for spec, data in zip(scene_files(), (BLEND, TEXTURE, SCRIPT), strict=True):
        placed = root / spec["path"]
        blob = stored_path(shared_storage, data)
        assert not placed.is_symlink()
        assert placed.read_bytes() == data
        assert os.path.samefile(placed, blob) is (link_mode == "hardlink")


async def test_auto_mode_falls_back_and_says_so_once(
    start_shaman_manager: StartManager,
    shared_storage: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flamenco.shaman")
    manager = await start_shaman_manager(link_mode="auto")
    await store(manager, BLEND, TEXTURE, SCRIPT)

    def no_symlinks(target: str, link: Path) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    def no_hardlinks(source: Path, link: Path) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    shaman = shaman_of(manager)
    shaman.checkouts.linker = Linker(LinkMode.AUTO, symlink=no_symlinks)
    first = await checkout(manager, "first", scene_files())
    second = await checkout(manager, "second", scene_files())
    shaman.checkouts.linker = Linker(LinkMode.AUTO, symlink=no_symlinks, hardlink=no_hardlinks)
    third = await checkout(manager, "third", scene_files())

    for result in (first, second):
        placed = jobs_dir(shared_storage) / result["checkoutPath"] / "scene.blend"
        assert not placed.is_symlink()
        assert os.path.samefile(placed, stored_path(shared_storage, BLEND))
    copied = jobs_dir(shared_storage) / third["checkoutPath"] / "scene.blend"
    assert copied.read_bytes() == BLEND
    assert not os.path.samefile(copied, stored_path(shared_storage, BLEND))
    switches = [
        record.getMessage() for record in caplog.records if "instead" in record.getMessage()
    ]
    # Once per Linker (per Manager), however many checkouts follow.
    assert switches == [
        "shaman: this platform cannot make symbolic links here, checkouts use hard links instead",
        "shaman: this platform cannot make symbolic or hard links here, "
        "checkouts use copies instead",
    ]


async def test_job_deletion_erases_its_checkout(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    await store(shaman_manager, BLEND, TEXTURE, SCRIPT)
    kept = await checkout(shaman_manager, "project/kept", scene_files())
    result = await checkout(shaman_manager, "project/deleted", scene_files())
    job = await submit_echo_sleep(
        client, repeats=1, storage={"shaman_checkout_id": result["checkoutPath"]}
    )
    what = await client.get(f"/api/v3/jobs/{job['id']}/what-would-delete-do", expect=200)
    assert what.json() == {"shaman_checkout": True}

    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)

    await _wait_until_gone(client, job["id"])
    assert not (jobs_dir(shared_storage) / "project" / "deleted").exists()
    assert (jobs_dir(shared_storage) / kept["checkoutPath"] / "scene.blend").read_bytes() == BLEND
    assert stored_path(shared_storage, BLEND).exists()


async def test_job_deletion_erases_empty_parents_but_not_the_jobs_dir(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    await store(shaman_manager, BLEND)
    result = await checkout(shaman_manager, "a/b/c", [spec_of(BLEND, "scene.blend")])
    job = await submit_echo_sleep(
        client, repeats=1, storage={"shaman_checkout_id": result["checkoutPath"]}
    )

    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)

    await _wait_until_gone(client, job["id"])
    assert jobs_dir(shared_storage).is_dir()
    assert list(jobs_dir(shared_storage).iterdir()) == []


@pytest.mark.parametrize("checkout_id", ["../file-store", "/etc", "outside", "link/inside"])
async def test_job_with_hostile_checkout_id_is_deleted_without_touching_anything_else(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path, checkout_id: str
) -> None:
    client = shaman_manager.client
    await store(shaman_manager, BLEND)
    outside = tmp_path / "outside-dir"
    outside.mkdir()
    (outside / "inside").mkdir()
    (outside / "precious.txt").write_text("keep me")
    (jobs_dir(shared_storage) / "outside").symlink_to(outside, target_is_directory=True)
    (jobs_dir(shared_storage) / "link").symlink_to(outside, target_is_directory=True)
    job = await submit_echo_sleep(client, repeats=1, storage={"shaman_checkout_id": checkout_id})

    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)

    await _wait_until_gone(client, job["id"])
    assert (outside / "precious.txt").read_text() == "keep me"
    assert (outside / "inside").is_dir()
    assert stored_path(shared_storage, BLEND).exists()


async def _wait_until_gone(client: Any, job_id: str) -> None:
    deadline = time.monotonic() + 10
    while (await client.get(f"/api/v3/jobs/{job_id}")).status != 404:
        assert time.monotonic() < deadline, "job was not deleted"
        await asyncio.sleep(0.05)
