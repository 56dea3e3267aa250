"""Runs a script inside real Blender: Debian's blender binary, or PyPI's bpy 4.5 in its own venv."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Blender 4.5 LTS as a Python module. Not one exact release: PyPI removes
# releases that leave Blender's LTS window, and any 4.5.x must work anyway.
BPY_REQUIREMENT = "bpy==4.5.*"
BPY_PYTHON_VERSION = (3, 11)  # each Blender release is built for exactly one Python
# A Python that already has bpy 4.5 importable; skips building the venv below.
BPY_PYTHON_VARIABLE = "FLAMENCO_TEST_BPY_PYTHON"
_READY_MARKER = "flamenco-bpy-ready"


class BlenderUnavailable(Exception):
    """This machine cannot run the Blender a test asked for; the message says why."""


@dataclass(frozen=True)
class BlenderRunner:
    """One way of running a driver script in Blender, the way a test sees it."""

    name: str
    # What comes before `--python SCRIPT` for the binary, or before `SCRIPT` for bpy.
    command: tuple[str, ...]
    as_module: bool
    # What bpy.app.version_string must start with ("" when any version will do).
    version_prefix: str

    def argv(self, script: Path, arguments: Sequence[str]) -> list[str]:
        if self.as_module:
            return [*self.command, str(script), "--", *arguments]
        return [*self.command, "--python", str(script), "--", *arguments]

    def environment(self, home: Path) -> dict[str, str]:
        return artist_environment(home)

    def run(
        self, script: Path, arguments: Sequence[str], home: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(script, arguments),
            env=self.environment(home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def artist_environment(home: Path) -> dict[str, str]:
    """The environment of an artist's Blender: its own home, and no trace of our virtualenv.

    Blender's embedded Python finds its home through the first `python3` on
    PATH. With the test virtualenv there, it adopts that virtualenv, where
    `flamenco` is the Manager's package, so the add-on (also `flamenco`) cannot
    be imported; with another Python build first (pyenv, say), it loads that
    build's incompatible extension modules. So Blender's own directory, which
    holds the Python it was built for, comes first, and the virtualenv not at all.
    The bpy module runs on its own venv's Python, which this keeps clean too.
    """
    venv_bin = str(Path(sys.executable).parent)
    blender = shutil.which("blender")
    first = [str(Path(blender).resolve().parent)] if blender else []
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    env["PATH"] = os.pathsep.join(
        first + [entry for entry in env.get("PATH", "").split(os.pathsep) if entry != venv_bin]
    )
    env["HOME"] = str(home)
    return env


def blender_binary() -> BlenderRunner:
    """Debian's `blender` (3.4.1 on Debian 12), headless and with factory settings."""
    if shutil.which("blender") is None:
        raise BlenderUnavailable("needs blender on the PATH")
    return BlenderRunner(
        name="blender",
        command=("blender", "--background", "--factory-startup"),
        as_module=False,
        version_prefix="",
    )


def bpy_module() -> BlenderRunner:
    """Blender 4.5 as a Python module, installed on first use into a venv of its own."""
    return BlenderRunner(
        name="bpy-4.5",
        command=(str(bpy_python()),),
        as_module=True,
        version_prefix="4.5.",
    )


def bpy_python() -> Path:
    """A Python that imports bpy 4.5: the one named by the variable, else our cached venv.

    The venv is apart from the test environment because bpy pins its own numpy
    (and brings 1 GB), which the Manager's environment must not get.
    """
    named = os.environ.get(BPY_PYTHON_VARIABLE)
    if named:
        return Path(named)
    base = _python_for_bpy()
    venv = _bpy_venv_directory(base)
    python = venv / "bin" / "python"
    with _locked(venv.with_name(venv.name + ".lock")):
        # Another test run (or another checkout) may have built it meanwhile.
        if not (venv / _READY_MARKER).is_file():
            _build_bpy_venv(base, venv)
    return python


def _python_for_bpy() -> str:
    if sys.version_info[:2] == BPY_PYTHON_VERSION:
        return sys.executable
    wanted = "python{}.{}".format(*BPY_PYTHON_VERSION)
    found = shutil.which(wanted)
    if found is None:
        raise BlenderUnavailable(f"bpy 4.5 needs Python 3.11: run the tests in it, or add {wanted}")
    return found


def _bpy_venv_directory(base_python: str) -> Path:
    """In the user's cache, shared by checkouts and kept between runs (the wheel is 370 MB)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # A venv links to the Python it was made from, so each base Python gets its own.
    key = hashlib.sha256(f"{BPY_REQUIREMENT}\0{Path(base_python).resolve()}".encode()).hexdigest()
    return cache / "flamenco-py-tests" / f"bpy-4.5-{key[:12]}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_bpy_venv(base_python: str, venv: Path) -> None:
    # A half-built venv from an interrupted run has no marker: start it over.
    shutil.rmtree(venv, ignore_errors=True)
    python = venv / "bin" / "python"
    steps = [
        # Without pip of its own (Debian's Python may lack ensurepip): the test
        # environment's pip installs into it.
        [base_python, "-m", "venv", "--without-pip", str(venv)],
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", BPY_REQUIREMENT],
        # Importing bpy must bring Blender's own modules, as the binary has them.
        [str(python), "-c", "import bpy, addon_utils; print(bpy.app.version_string)"],
    ]  # fmt: skip
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    for step in steps:
        completed = subprocess.run(
            step, env=environment, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            raise BlenderUnavailable(
                f"could not install {BPY_REQUIREMENT} into {venv}: {' '.join(step[:4])} said\n"
                + (completed.stdout + completed.stderr)[-3000:]
            )
    (venv / _READY_MARKER).write_text(completed.stdout.strip() + "\n", encoding="utf-8")
