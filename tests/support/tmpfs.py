"""Small tmpfs mounts for tests of full and read-only disks; they need root, else they skip."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER_CHUNK = bytes(64 * 1024)


@contextlib.contextmanager
def mounted_tmpfs(directory: Path, size: str = "8m") -> Iterator[Path]:
    """A fresh tmpfs of `size` on `directory`, always unmounted afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mounting = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("cannot mount a tmpfs: no mount command")
    if mounting.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (this test needs root): {mounting.stderr.strip()}")
    try:
        yield directory
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True).returncode != 0:
            # Something still holds a file there (a process a failed test left behind):
            # detach it now, the kernel frees it once the last file is closed.
            subprocess.run(["umount", "--lazy", str(directory)], check=True)


def remount(directory: Path, mode: str) -> None:
    """Remount the tmpfs on `directory` `ro` or `rw`."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)


def fill(directory: Path) -> Path:
    """Write a file into `directory` until its file system is full; returns the file."""
    filler = directory / "filler"
    # Unbuffered: nothing is left to flush (and fail) on closing.
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(FILLER_CHUNK)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler
