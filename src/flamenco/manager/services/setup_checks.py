"""Checks behind the first-run setup assistant: is a path usable storage, is a command Blender."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flamenco import crosspath

BLENDER_VERSION_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class PathCheck:
    path: str
    is_usable: bool
    cause: str


@dataclass(frozen=True, slots=True)
class BlenderCheck:
    input: str
    path: str
    source: str
    is_usable: bool
    cause: str


def check_shared_storage_blocking(path: str, *, forbidden: tuple[Path, ...] = ()) -> PathCheck:
    """Whether `path` can hold the farm's shared files: an existing, writable directory."""
    if not path.strip():
        return PathCheck(path, False, "An empty path is not usable as shared storage.")
    if crosspath.is_unc(path):
        return PathCheck(
            path,
            False,
            "Network paths like \\\\server\\share are not supported; map them to a drive letter.",
        )
    candidate = Path(path)
    if not candidate.exists():
        return PathCheck(path, False, "This path does not exist.")
    if not candidate.is_dir():
        return PathCheck(path, False, "This path is a file, not a directory.")
    resolved = candidate.resolve()
    if any(resolved == place.resolve() for place in forbidden):
        return PathCheck(
            path, False, "This is the Manager's own directory; use a separate shared directory."
        )
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=candidate, prefix="flamenco-writability-test-", suffix=".txt"
        ) as probe:
            probe.write("Ünicöde test")
            probe.flush()
    except OSError as error:
        return PathCheck(path, False, f"Cannot write to this directory: {error.strerror or error}")
    return PathCheck(path, True, "This directory can be used as shared storage.")


async def check_blender(command: str, *, source: str) -> BlenderCheck:
    """Run `<command> --version` and see whether it answers like Blender."""
    executable = command
    if os.path.isdir(command):
        executable = os.path.join(command, "blender")
    try:
        process = await asyncio.create_subprocess_exec(
            executable,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except (OSError, ValueError) as error:
        # ValueError: a path with a null byte, which no program can have (found by fuzzing).
        return BlenderCheck(command, executable, source, False, f"Cannot run it: {error}")
    try:
        async with asyncio.timeout(BLENDER_VERSION_TIMEOUT_SECONDS):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return BlenderCheck(command, executable, source, False, "It did not answer within 10 s.")
    for line in output.decode("utf-8", errors="replace").splitlines():
        if line.startswith("Blender "):
            return BlenderCheck(command, executable, source, True, line.strip())
    return BlenderCheck(
        command, executable, source, False, "This does not seem to be Blender: no version shown."
    )


async def find_blender() -> list[BlenderCheck]:
    """Blenders found without help; on Linux that means on $PATH."""
    found = shutil.which("blender")
    if found is None:
        return []
    return [await check_blender(found, source="path_envvar")]
