"""The Linker: relative symbolic links, and the fall-back to hard links and copies."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from flamenco.shaman.links import Linker, LinkMode


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "file-store" / "stored" / "ab" / "cdef" / "4.blob"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"data")
    return path


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    path = tmp_path / "jobs" / "project" / "job"
    path.mkdir(parents=True)
    return path


def refuse_symlinks(target: str, link: Path) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


def refuse_hardlinks(source: Path, link: Path) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_symlinks_are_relative(blob: Path, checkout: Path) -> None:
    link = checkout / "scene.blend"

    assert Linker(LinkMode.AUTO).place_blocking(blob, link) is LinkMode.SYMLINK

    assert os.readlink(link) == os.path.join(
        "..", "..", "..", "file-store", "stored", "ab", "cdef", "4.blob"
    )
    assert link.read_bytes() == b"data"


def test_auto_switches_to_hard_links_for_good_and_logs_once(
    blob: Path, checkout: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def counting_refusal(target: str, link: Path) -> None:
        calls.append(target)
        refuse_symlinks(target, link)

    linker = Linker(LinkMode.AUTO, symlink=counting_refusal)
    with caplog.at_level(logging.WARNING, logger="flamenco.shaman.links"):
        methods = [linker.place_blocking(blob, checkout / f"{n}.blend") for n in range(3)]

    assert methods == [LinkMode.HARDLINK] * 3
    assert len(calls) == 1  # Symbolic links are not tried again.
    assert linker.method is LinkMode.HARDLINK
    assert [record.getMessage() for record in caplog.records] == [
        "shaman: this platform cannot make symbolic links here, checkouts use hard links instead"
    ]
    assert all(os.path.samefile(checkout / f"{n}.blend", blob) for n in range(3))


def test_auto_switches_to_copies_when_nothing_links(
    blob: Path, checkout: Path, caplog: pytest.LogCaptureFixture
) -> None:
    linker = Linker(LinkMode.AUTO, symlink=refuse_symlinks, hardlink=refuse_hardlinks)
    with caplog.at_level(logging.WARNING, logger="flamenco.shaman.links"):
        methods = [linker.place_blocking(blob, checkout / f"{n}.blend") for n in range(2)]

    assert methods == [LinkMode.COPY] * 2
    assert len(caplog.records) == 1
    assert "copies" in caplog.records[0].getMessage()
    copy = checkout / "0.blend"
    assert copy.read_bytes() == b"data" and not os.path.samefile(copy, blob)


def test_windows_privilege_error_counts_as_no_symlinks(blob: Path, checkout: Path) -> None:
    def windows_refusal(target: str, link: Path) -> None:
        error = OSError(errno.EINVAL, "A required privilege is not held by the client")
        error.winerror = 1314  # type: ignore[attr-defined]
        raise error

    linker = Linker(LinkMode.AUTO, symlink=windows_refusal)
    assert linker.place_blocking(blob, checkout / "x") is LinkMode.HARDLINK


def test_too_many_links_copies_one_file_without_switching(blob: Path, checkout: Path) -> None:
    def full_inode(source: Path, link: Path) -> None:
        raise OSError(errno.EMLINK, "Too many links")

    linker = Linker(LinkMode.AUTO, symlink=refuse_symlinks, hardlink=full_inode)

    assert linker.place_blocking(blob, checkout / "x") is LinkMode.COPY
    assert linker.method is LinkMode.HARDLINK


def test_other_errors_are_not_mistaken_for_missing_support(blob: Path, checkout: Path) -> None:
    def disk_trouble(target: str, link: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    linker = Linker(LinkMode.AUTO, symlink=disk_trouble)
    with pytest.raises(OSError, match="Input/output"):
        linker.place_blocking(blob, checkout / "x")
    assert linker.method is LinkMode.SYMLINK


def test_forced_modes_never_fall_back(blob: Path, checkout: Path) -> None:
    with pytest.raises(OSError, match="not permitted"):
        Linker(LinkMode.SYMLINK, symlink=refuse_symlinks).place_blocking(blob, checkout / "a")
    with pytest.raises(OSError, match="cross-device"):
        Linker(LinkMode.HARDLINK, hardlink=refuse_hardlinks).place_blocking(blob, checkout / "b")
    assert Linker(LinkMode.COPY).place_blocking(blob, checkout / "c") is LinkMode.COPY
    assert not (checkout / "c").is_symlink()
