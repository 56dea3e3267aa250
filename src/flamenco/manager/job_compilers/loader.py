"""Finding and reading job-type script files: the custom scripts folder and the built-in scripts.

The rules are upstream's: every regular `*.js` file at the top of a folder is a
candidate job type, named after its file stem with `_` replaced by `-`; files
under 8 bytes are skipped; a custom file wins over a built-in of the same name.
Everything is read again on every call, so edits to custom scripts apply to the
next request without a restart.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import os
import pathlib
from collections.abc import Iterable, Iterator
from importlib.resources.abc import Traversable

logger = logging.getLogger(__name__)

SCRIPT_SUFFIX = ".js"
# Upstream ignores tiny files: they cannot hold a job type.
MIN_SCRIPT_BYTES = 8
# Guards against a stray huge file in the scripts folder, not a real limit on scripts.
MAX_SCRIPT_BYTES = 16 * 2**20
# `require()` sees the whole scripts folder, node_modules included; stop reading
# modules well before a runaway folder could hurt the Manager.
MAX_MODULE_FILES = 5000
MAX_MODULE_BYTES = 64 * 2**20
MODULE_SUFFIXES = (".js", ".json")

BUILT_IN_LOCATION_PREFIX = "<built-in>/"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScriptFile:
    """The source of one candidate job-type script."""

    job_type: str
    file_name: str
    location: str  # the path on disk, or `<built-in>/name.js`
    source: str
    built_in: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UnreadableScript:
    """A custom script file that exists but could not be read."""

    job_type: str
    location: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScriptCatalogue:
    """Candidate scripts per job type name: the custom one first, then the built-in one."""

    candidates: dict[str, list[ScriptFile]]
    unreadable: list[UnreadableScript]


def job_type_name(file_name: str) -> str:
    """The job type a script file defines: its stem, with underscores turned into dashes."""
    stem = file_name[: -len(SCRIPT_SUFFIX)] if file_name.endswith(SCRIPT_SUFFIX) else file_name
    return stem.replace("_", "-")


def built_in_scripts() -> Traversable:
    """The folder of job-type scripts shipped in this package."""
    return importlib.resources.files(__package__).joinpath("scripts")


def read_runtime_source() -> str:
    """The JavaScript prelude that installs the globals scripts rely on."""
    return importlib.resources.files(__package__).joinpath("runtime.js").read_text("utf-8")


def load_catalogue(scripts_dir: pathlib.Path | None, *, only: str | None = None) -> ScriptCatalogue:
    """Read the candidate scripts, custom ones before built-in ones.

    With `only`, just the files that would define that job type are read.
    """
    candidates: dict[str, list[ScriptFile]] = {}
    unreadable: list[UnreadableScript] = []
    if scripts_dir is not None:
        custom: dict[str, ScriptFile] = {}
        for entry in _custom_script_entries(scripts_dir):
            name = job_type_name(entry.name)
            if only is not None and name != only:
                continue
            location = str(pathlib.Path(scripts_dir, entry.name))
            try:
                data = _read_limited(pathlib.Path(entry.path))
            except OSError as error:
                logger.error("cannot read job type script %s: %s", location, error)
                unreadable.append(
                    UnreadableScript(job_type=name, location=location, message=str(error))
                )
                continue
            if data is None:
                continue
            if name in custom:
                # Same rule as upstream's directory scan: the later file name wins.
                logger.warning(
                    "job type %r is defined by both %s and %s; using the latter",
                    name,
                    custom[name].location,
                    location,
                )
            custom[name] = ScriptFile(
                job_type=name,
                file_name=entry.name,
                location=location,
                source=_decode(data),
                built_in=False,
            )
        for name, script in custom.items():
            candidates[name] = [script]
    for script in _built_in_script_files(only):
        candidates.setdefault(script.job_type, []).append(script)
    return ScriptCatalogue(candidates=candidates, unreadable=unreadable)


def load_modules(scripts_dir: pathlib.Path | None) -> dict[str, str]:
    """Every `.js` and `.json` file `require()` may load, by root-relative path with `/`.

    Custom files shadow built-in ones of the same path, as upstream's lookup
    tries the scripts folder before the embedded scripts.
    """
    modules: dict[str, str] = {}
    for script in built_in_scripts().iterdir():
        if script.is_file() and script.name.endswith(MODULE_SUFFIXES):
            modules[script.name] = script.read_text("utf-8")
    if scripts_dir is None or not scripts_dir.is_dir():
        return modules
    total_bytes = 0
    count = 0
    for relative, path in _walk_module_files(scripts_dir):
        if count >= MAX_MODULE_FILES or total_bytes >= MAX_MODULE_BYTES:
            logger.warning(
                "scripts folder %s holds too many module files; "
                "require() only sees the first %d files (%d bytes)",
                scripts_dir,
                count,
                total_bytes,
            )
            break
        try:
            data = _read_limited(path, minimum=0)
        except OSError as error:
            logger.warning("cannot read module file %s: %s", path, error)
            continue
        if data is None:
            continue
        modules[relative] = _decode(data)
        total_bytes += len(data)
        count += 1
    return modules


def _custom_script_entries(scripts_dir: pathlib.Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(scripts_dir) as scan:
            entries = [
                entry
                for entry in scan
                if entry.name.endswith(SCRIPT_SUFFIX) and _is_regular_file(entry)
            ]
    except FileNotFoundError:
        logger.debug("no custom job type scripts: %s does not exist", scripts_dir)
        return []
    except OSError as error:
        logger.error("cannot list job type scripts in %s: %s", scripts_dir, error)
        return []
    return sorted(entries, key=lambda entry: entry.name)


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    # Symlinks to regular files count too (upstream skips them); see docs/compatibility.md.
    try:
        return entry.is_file()
    except OSError:
        return False


def _built_in_script_files(only: str | None) -> Iterator[ScriptFile]:
    entries = sorted(built_in_scripts().iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if not entry.is_file() or not entry.name.endswith(SCRIPT_SUFFIX):
            continue
        name = job_type_name(entry.name)
        if only is not None and name != only:
            continue
        yield ScriptFile(
            job_type=name,
            file_name=entry.name,
            location=BUILT_IN_LOCATION_PREFIX + entry.name,
            source=_decode(entry.read_bytes()),
            built_in=True,
        )


def _read_limited(path: pathlib.Path, *, minimum: int = MIN_SCRIPT_BYTES) -> bytes | None:
    """The file's bytes, or None (logged) when it is too small or too large to be a script."""
    size = path.stat().st_size
    if size > MAX_SCRIPT_BYTES:
        raise OSError(f"file is larger than {MAX_SCRIPT_BYTES} bytes")
    data = path.read_bytes()
    if len(data) < minimum:
        logger.debug("ignoring tiny file %s (%d bytes), it cannot be a job type", path, len(data))
        return None
    return data


def _decode(data: bytes) -> str:
    # Like upstream, a stray invalid byte does not make the whole file unreadable.
    text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def _walk_module_files(scripts_dir: pathlib.Path) -> Iterable[tuple[str, pathlib.Path]]:
    for directory, subdirectories, files in os.walk(scripts_dir):
        subdirectories.sort()
        for file_name in sorted(files):
            if not file_name.endswith(MODULE_SUFFIXES):
                continue
            path = pathlib.Path(directory, file_name)
            relative = path.relative_to(scripts_dir).as_posix()
            yield relative, path
