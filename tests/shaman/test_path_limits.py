"""Shaman paths too long or too deep for a file system are a 400 that says why, and make nothing."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

import pytest

from flamenco.shaman.checkout import MAX_LEVELS, MAX_NAME_BYTES, MAX_PATH_BYTES
from flamenco.shaman.filestore import MAX_FILE_SIZE
from flamenco.shaman.links import Linker, LinkMode
from shaman.helpers import (
    CHECKOUT_URL,
    FILES_URL,
    REQUIREMENTS_URL,
    content,
    files_below,
    sha256,
    shaman_of,
    spec_of,
    upload,
)
from support.manager import RunningManager

BLEND = content(5000, seed=1)


def deep(levels: int, name: str = "d") -> str:
    return "/".join([name] * levels)


async def checkout(
    manager: RunningManager, path: str, file_path: str = "scene.blend", expect: int = 200
) -> dict[str, Any]:
    reply = await manager.client.post(
        CHECKOUT_URL,
        json_body={"checkoutPath": path, "files": [spec_of(BLEND, file_path)]},
        expect=expect,
    )
    body: dict[str, Any] = reply.json()
    if expect >= 400:
        # Long paths are shortened in the message, not quoted whole.
        assert len(body["message"]) < 400
    return body


@pytest.fixture
async def manager(shaman_manager: RunningManager) -> RunningManager:
    await upload(shaman_manager.client, BLEND, expect=204)
    return shaman_manager


@pytest.mark.parametrize(
    ("checkout_path", "file_path", "reason"),
    [
        ("a" * (MAX_NAME_BYTES + 1), "scene.blend", "256 bytes long (UTF-8), at most 255"),
        # 128 characters, but 256 bytes in UTF-8.
        ("job/" + "ü" * 128, "scene.blend", "256 bytes long (UTF-8), at most 255"),
        ("job", "b" * (MAX_NAME_BYTES + 1) + "/scene.blend", "256 bytes long"),
        ("job", "textures/" + "ü" * 128, "256 bytes long"),
        # What ended in OSError (checkout path) and RecursionError (file path).
        (deep(1000), "scene.blend", "it has 1000 levels, at most 128"),
        ("job", deep(1000) + "/scene.blend", "it has 1001 levels, at most 128"),
        (deep(MAX_LEVELS + 1), "scene.blend", "it has 129 levels"),
        ("job", deep(MAX_LEVELS) + "/scene.blend", "it has 129 levels"),
        ("job\ud800", "scene.blend", "not valid Unicode"),
        ("job", "scene\udcff.blend", "not valid Unicode"),
        # Fine in themselves, too long together with the checkout directory.
        (deep(17, "c" * 250), "scene.blend", "at most 4095"),
        ("job", deep(17, "f" * 250) + "/scene.blend", "at most 4095"),
        (deep(8, "c" * 250), deep(9, "f" * 250) + "/scene.blend", "at most 4095"),
        # No room for the suffix a taken name gets.
        ("job/" + "a" * 251, "scene.blend", "at most 250 bytes long, leaving room for a suffix"),
    ],
)
async def test_paths_that_do_not_fit_are_400_and_make_nothing(
    manager: RunningManager, tmp_path: Path, checkout_path: str, file_path: str, reason: str
) -> None:
    before = files_below(tmp_path)

    refused = await checkout(manager, checkout_path, file_path, expect=400)

    assert reason in refused["message"]
    assert "path" in refused["message"]
    assert files_below(tmp_path) == before


async def test_paths_at_the_limits_work(manager: RunningManager, shared_storage: Path) -> None:
    jobs = shared_storage / "jobs"
    longest_name = "a" * (MAX_NAME_BYTES - 5)
    made = await checkout(manager, f"job/{longest_name}")
    assert made["checkoutPath"] == f"job/{longest_name}"
    suffixed = await checkout(manager, f"job/{longest_name}")
    assert re.fullmatch(rf"job/{longest_name}-[a-z0-9]{{4}}", suffixed["checkoutPath"])
    assert len(suffixed["checkoutPath"].split("/")[-1]) == MAX_NAME_BYTES

    file_path = deep(MAX_LEVELS - 1) + "/" + "f" * MAX_NAME_BYTES
    made = await checkout(manager, deep(MAX_LEVELS), file_path)
    assert (jobs / made["checkoutPath"] / file_path).read_bytes() == BLEND

    # Exactly the longest path the kernel takes, suffix included.
    left = MAX_PATH_BYTES - len(os.fsencode(jobs)) - len("/job-abcd/")
    levels, rest = divmod(left - 1, 200)
    long_path = deep(levels, "p" * 199) + "/" + "q" * (rest + 1)
    made = await checkout(manager, "job", long_path)
    assert made["checkoutPath"] != "job"  # Taken above: suffixed, and still fits.
    assert len(os.fsencode(jobs / made["checkoutPath"] / long_path)) == MAX_PATH_BYTES
    await checkout(manager, "job", long_path + "q", expect=400)


async def test_a_name_the_file_system_refuses_is_400_and_erased(
    manager: RunningManager, shared_storage: Path
) -> None:
    # For file systems with names shorter than the 255 bytes checked beforehand.
    def short_names_only(target: str, link: str | Path) -> None:
        if len(os.path.basename(link)) > 10:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(link))
        os.symlink(target, link)

    shaman_of(manager).checkouts.linker = Linker(LinkMode.SYMLINK, symlink=short_names_only)
    files = [spec_of(BLEND, "short.blend"), spec_of(BLEND, "rather-long-name.blend")]

    reply = await manager.client.post(
        CHECKOUT_URL, json_body={"checkoutPath": "job", "files": files}, expect=400
    )

    assert "refused a name in checkout 'job' as too long" in reply.json()["message"]
    assert list((shared_storage / "jobs").iterdir()) == []


async def test_file_sizes_beyond_int64_are_400(manager: RunningManager) -> None:
    sha = sha256(BLEND)
    for size in (MAX_FILE_SIZE + 1, 10**300):
        url = f"{FILES_URL}/{sha}/{size}"
        await manager.client.get(url, expect=400)
        headers = {"Content-Type": "application/octet-stream"}
        reply = await manager.client.post(url, data=BLEND, headers=headers, expect=400)
        assert "at most 9223372036854775807 bytes" in reply.json()["message"]
        spec = {"sha": sha, "size": size, "path": "scene.blend"}
        await manager.client.post(REQUIREMENTS_URL, json_body={"files": [spec]}, expect=400)
        await manager.client.post(
            CHECKOUT_URL, json_body={"checkoutPath": "job", "files": [spec]}, expect=400
        )
