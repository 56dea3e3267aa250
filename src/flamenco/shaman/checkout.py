"""Checkouts: the per-job directories of links to stored files, from validation to erasure.

A checkout path is relative to `<shared storage>/jobs`. It may have several
levels (`project/shot/job`), but never leaves that directory: no absolute
paths, no `.` or `..` components, none of upstream's forbidden characters, and
no existing symbolic link or file on the way, so a link someone placed under
`jobs/` cannot redirect a checkout, or its erasure, elsewhere.

Lengths are checked before the file system sees a path: a name of at most
MAX_NAME_BYTES, at most MAX_LEVELS components, and no path in the checkout
longer than MAX_PATH_BYTES, so that neither the kernel (ENAMETOOLONG) nor
Python's recursion limit (os.makedirs and shutil.rmtree recurse per level) ends
a checkout with an internal error.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import logging
import os
import re
import secrets
import shutil
import stat
import string
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from flamenco.shaman import errors
from flamenco.shaman.filestore import DIRECTORY_MODE, FileKey, FileStore
from flamenco.shaman.links import Linker
from flamenco.shaman.uploads import FileStatus

logger = logging.getLogger(__name__)

# Checkouts of this many files or more are linked by LINK_THREADS threads.
PARALLEL_FROM = 256
LINK_THREADS = 8

# Upstream's limit on attempts at a free name: the requested one, then random suffixes.
MAX_NAME_ATTEMPTS = 10
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_SUFFIX_LENGTH = 4

# Longest name of one file or directory (NAME_MAX on Linux and macOS; 255
# UTF-16 units on Windows, never more than 255 bytes of UTF-8).
MAX_NAME_BYTES = 255
# A taken checkout name gets a dash and a suffix, which must fit in the name too.
_MAX_CHECKOUT_NAME_BYTES = MAX_NAME_BYTES - len("-") - _SUFFIX_LENGTH
# Components of a checkout path, and of a file path inside it: far more than any
# project uses, and few enough for the per-level recursion of os.makedirs and
# shutil.rmtree to stay well inside Python's limit of 1,000 frames.
MAX_LEVELS = 128
# Longest path the kernel takes (PATH_MAX, 4096 on Linux, less the final NUL),
# counted from the root of the file system.
MAX_PATH_BYTES = 4095

# Upstream forbids these anywhere in a checkout path (after turning `\` into `/`).
_FORBIDDEN_IN_CHECKOUT_PATH = frozenset("?*:;{}")
_DRIVE_LETTER = re.compile(r"[A-Za-z]:")


class FileSpec(TypedDict):
    """The spec's ShamanFileSpec."""

    sha: str
    size: int
    path: str


class FileSpecWithStatus(TypedDict):
    """The spec's ShamanFileSpecWithStatus."""

    sha: str
    size: int
    path: str
    status: str


# Stored file, link to make, symbolic link text, and the file it is for.
_Placement = tuple[str, str, str, "CheckoutFile"]


@dataclasses.dataclass(frozen=True, slots=True)
class CheckoutFile:
    """One file of a checkout, validated: where it goes and which stored file it is."""

    parts: tuple[str, ...]
    key: FileKey

    @property
    def path(self) -> str:
        return "/".join(self.parts)


def parse_checkout_path(raw: str) -> tuple[str, ...]:
    """The components of a checkout path, or InvalidCheckoutPath."""
    path = raw.replace("\\", "/")  # Windows clients may send either separator, as upstream.
    if path.endswith("/"):
        path = path[:-1]

    def invalid(reason: str) -> errors.InvalidCheckoutPath:
        return errors.InvalidCheckoutPath(f"invalid checkout path {_shown(raw)}: {reason}")

    if not path:
        raise invalid("it is empty")
    if path.startswith("/"):
        raise invalid("it must be relative to the checkout directory")
    forbidden = sorted(_FORBIDDEN_IN_CHECKOUT_PATH.intersection(path))
    if forbidden:
        raise invalid(f"it must not contain {' '.join(forbidden)}")
    if any(ord(character) < 32 for character in path):
        raise invalid("it must not contain control characters")
    parts = tuple(path.split("/"))
    if any(part in ("", ".", "..") for part in parts):
        raise invalid("it must not contain empty, `.` or `..` components")
    problem = _size_problem(parts)
    if problem:
        raise invalid(problem)
    return parts


def parse_file_path(raw: str) -> tuple[str, ...]:
    """The components of a file's path inside its checkout, or InvalidFilePath."""
    path = raw.replace("\\", "/")

    def invalid(reason: str) -> errors.InvalidFilePath:
        return errors.InvalidFilePath(f"invalid file path {_shown(raw)}: {reason}")

    if path.startswith("/") or _DRIVE_LETTER.match(path):
        raise invalid("it must be relative to the checkout")
    if "\0" in path:
        raise invalid("it must not contain NUL characters")
    parts = tuple(part for part in path.split("/") if part not in ("", "."))
    if not parts:
        raise invalid("it names no file")
    if ".." in parts:
        raise invalid("it must not contain `..` components")
    problem = _size_problem(parts)
    if problem:
        raise invalid(problem)
    return parts


def _size_problem(parts: tuple[str, ...]) -> str:
    """What makes these components unfit for a file system, or "" when they fit."""
    if len(parts) > MAX_LEVELS:
        return f"it has {len(parts)} levels, at most {MAX_LEVELS}"
    for part in parts:
        if part.isascii():  # Most names, and a character is a byte.
            size = len(part)
        else:
            try:
                size = len(part.encode("utf-8"))
            except UnicodeEncodeError:
                return f"component {_shown(part)} is not valid Unicode (it has a lone surrogate)"
        if size > MAX_NAME_BYTES:
            return (
                f"component {_shown(part)} is {size} bytes long (UTF-8), at most {MAX_NAME_BYTES}"
            )
    return ""


def _shown(text: str) -> str:
    """`text` quoted for a message, shortened when long: it may be thousands of characters."""
    return repr(text if len(text) <= 80 else text[:60] + "…" + text[-19:])


def plan_checkout(files: Sequence[FileSpec]) -> list[CheckoutFile]:
    """Validate the files of a checkout; identical duplicates are dropped, as upstream."""
    by_parts: dict[tuple[str, ...], CheckoutFile] = {}
    for spec in files:
        planned = CheckoutFile(
            parse_file_path(spec["path"]), FileKey.parse(spec["sha"], spec["size"])
        )
        existing = by_parts.setdefault(planned.parts, planned)
        if existing.key != planned.key:
            raise errors.InvalidFilePath(
                f"file path {planned.path!r} is listed twice, with different content"
            )
    directories = {
        file.parts[:end] for file in by_parts.values() for end in range(1, len(file.parts))
    }
    for parts in by_parts:
        if parts in directories:
            raise errors.InvalidFilePath(
                f"file path {'/'.join(parts)!r} is both a file and a directory in the checkout"
            )
    return list(by_parts.values())


def report_requirements_blocking(
    store: FileStore, files: Sequence[FileSpec], uploading: frozenset[FileKey]
) -> list[FileSpecWithStatus]:
    """The files Shaman still needs, once per checksum and size, in the order asked.

    Stored files are left out, and touched: a checkout is expected to use them soon.
    """
    wanted: dict[FileKey, FileSpec] = {}
    for spec in files:
        wanted.setdefault(FileKey.parse(spec["sha"], spec["size"]), spec)
    missing = store.touch_stored_blocking(wanted)
    return [
        {
            "sha": spec["sha"],
            "size": spec["size"],
            "path": spec["path"],
            "status": (FileStatus.UPLOADING if key in uploading else FileStatus.UNKNOWN).value,
        }
        for key, spec in wanted.items()
        if key in missing
    ]


class Checkouts:
    """The checkout directory, `<shared storage>/jobs`, and the checkouts in it."""

    def __init__(self, root: Path, store: FileStore, linker: Linker) -> None:
        self.root = root
        self._store = store
        self.linker = linker

    def create_directory_blocking(self) -> None:
        self.root.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)

    def create_blocking(self, requested_path: str, files: Sequence[CheckoutFile]) -> str:
        """Build a checkout; returns its path relative to the checkout directory.

        The path is the requested one, or that with a random suffix when it is
        taken. Every file must be stored (else MissingFiles, and nothing is
        created); on any failure later on the whole checkout is erased again.
        """
        parts = parse_checkout_path(requested_path)
        self._check_fits(parts, files)
        try:
            return self._create(requested_path, parts, files)
        except OSError as error:
            if error.errno != errno.ENAMETOOLONG:
                raise
            # File systems with shorter limits than those checked above.
            raise errors.InvalidFilePath(
                f"the file system refused a name in checkout {_shown(requested_path)} "
                f"as too long: {error.strerror}"
            ) from error

    def _check_fits(self, parts: tuple[str, ...], files: Sequence[CheckoutFile]) -> None:
        """Refuse a checkout with a name or path too long to make, before making any."""
        if len(parts[-1].encode()) > _MAX_CHECKOUT_NAME_BYTES:
            # Not refused by parse_checkout_path: a job may name a suffixed checkout.
            raise errors.InvalidCheckoutPath(
                f"invalid checkout path {_shown('/'.join(parts))}: its last component must be "
                f"at most {_MAX_CHECKOUT_NAME_BYTES} bytes long, leaving room for a suffix "
                "when the name is taken"
            )
        if not files:
            return
        longest = max(files, key=lambda file: len(file.path.encode()))
        # <root>/<checkout path>-<suffix>/<file path>
        size = (
            len(os.fsencode(self.root))
            + len("/".join(("", *parts)).encode())
            + len("-")
            + _SUFFIX_LENGTH
            + len(longest.path.encode())
            + len("/")
        )
        if size > MAX_PATH_BYTES:
            raise errors.InvalidFilePath(
                f"file path {_shown(longest.path)} is too long for checkout path "
                f"{_shown('/'.join(parts))}: together with the checkout directory they make "
                f"a path of {size} bytes, at most {MAX_PATH_BYTES}"
            )

    def _create(
        self, requested_path: str, parts: tuple[str, ...], files: Sequence[CheckoutFile]
    ) -> str:
        keys = {file.key for file in files}
        # Touching the files first tells garbage collection, which only deletes
        # files untouched since its scan, that they are in use from now on.
        missing = self._store.touch_stored_blocking(keys)
        if missing:
            raise errors.MissingFiles(
                [(file.path, file.key.sha, file.key.size) for file in files if file.key in missing]
            )
        directory, relative_path = self._make_directory(parts)
        try:
            self._link_files(directory, relative_path.count("/") + 1, files)
        except BaseException:
            logger.warning(
                "shaman: checkout failed, erasing it",
                extra={"checkout_path": relative_path},
                exc_info=True,
            )
            self._erase_directory(directory)
            raise
        logger.info(
            "shaman: checkout created",
            extra={
                "checkout_path": relative_path,
                "requested_path": requested_path,
                "files": len(files),
                "link_method": self.linker.method.value,
            },
        )
        return relative_path

    def erase_blocking(self, checkout_id: str) -> bool:
        """Remove a checkout and its empty parent directories; False when it does not exist."""
        parts = parse_checkout_path(checkout_id)
        directory = self.root
        for index, part in enumerate(parts):
            directory = directory / part
            try:
                info = directory.lstat()
            except FileNotFoundError:
                return False
            if not stat.S_ISDIR(info.st_mode):
                raise errors.InvalidCheckoutPath(
                    f"invalid checkout path {checkout_id!r}: "
                    f"{'/'.join(parts[: index + 1])!r} is not a directory"
                )
        self._erase_directory(directory)
        logger.info("shaman: removed checkout directory", extra={"checkout_path": checkout_id})
        return True

    def _make_directory(self, parts: tuple[str, ...]) -> tuple[Path, str]:
        *parent_parts, name = parts
        for _ in range(MAX_NAME_ATTEMPTS):
            parent = self._ensure_parent(parent_parts, parts)
            try:
                (parent / name).mkdir(mode=DIRECTORY_MODE)
            except FileExistsError:
                logger.debug(
                    "shaman: checkout path exists, going to add a random suffix",
                    extra={"checkout_path": "/".join([*parent_parts, name])},
                )
                name = f"{parts[-1]}-{_random_suffix()}"
                continue
            except FileNotFoundError:
                continue  # The parent went away, erased with another checkout: again.
            return parent / name, "/".join([*parent_parts, name])
        raise errors.CheckoutExists(
            f"a checkout already exists at {'/'.join(parts)!r}, "
            f"and {MAX_NAME_ATTEMPTS - 1} random suffixes were taken too"
        )

    def _ensure_parent(self, parent_parts: Sequence[str], parts: tuple[str, ...]) -> Path:
        """The parent directory of a new checkout, made where needed, never through a link."""
        directory = self.root
        for index, part in enumerate(parent_parts):
            directory = directory / part
            try:
                directory.mkdir(mode=DIRECTORY_MODE)
                continue
            except FileExistsError:
                pass
            if not stat.S_ISDIR(directory.lstat().st_mode):
                raise errors.InvalidCheckoutPath(
                    f"invalid checkout path {'/'.join(parts)!r}: "
                    f"{'/'.join(parts[: index + 1])!r} exists and is not a directory"
                )
        return directory

    def _link_files(self, directory: Path, depth: int, files: Sequence[CheckoutFile]) -> None:
        """Place every file; `depth` is the number of components of the checkout path."""
        # Symbolic link targets are built from parts instead of os.path.relpath(),
        # ten times faster; that is exact as no component below the checkout root
        # is a link (see _ensure_parent).
        # Plain string concatenation, too: os.path.join was most of the time here.
        separator = os.sep
        up = os.pardir + separator
        stored_from_root = os.path.relpath(self._store.stored_root, self.root) + separator
        stored_root = os.fspath(self._store.stored_root) + separator
        top = os.fspath(directory)
        made = {top}
        placements: list[_Placement] = []
        for file in files:
            link = top + separator + separator.join(file.parts)
            parent = os.path.dirname(link)
            if parent not in made:
                os.makedirs(parent, mode=DIRECTORY_MODE, exist_ok=True)
                while parent not in made:
                    made.add(parent)
                    parent = os.path.dirname(parent)
            in_store = self._store.stored_relative_text(file.key)
            target = up * (depth + len(file.parts) - 1) + stored_from_root + in_store
            placements.append((stored_root + in_store, link, target, file))
        if len(placements) < PARALLEL_FROM:
            self._place(placements)
            return
        # Making a link is one system call that mostly waits on the file system
        # (its journal, a network share); several threads overlap those waits.
        size = -(-len(placements) // (LINK_THREADS * 4))
        with concurrent.futures.ThreadPoolExecutor(
            LINK_THREADS, thread_name_prefix="shaman-link"
        ) as pool:
            batches = [
                pool.submit(self._place, placements[start : start + size])
                for start in range(0, len(placements), size)
            ]
            try:
                for batch in batches:
                    batch.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise

    def _place(self, placements: Sequence[_Placement]) -> None:
        for blob, link, target, file in placements:
            try:
                self.linker.place_blocking(blob, link, symlink_target=target)
            except FileExistsError:
                # Two paths that differ only in case, on a case-insensitive file system.
                if not os.path.samefile(link, blob):
                    raise errors.InvalidFilePath(
                        f"file path {file.path!r} clashes with another file of the checkout"
                    ) from None

    def _erase_directory(self, directory: Path) -> None:
        # rmtree removes links without following them, and refuses a link as the top.
        shutil.rmtree(directory)
        for parent in directory.parents:
            if parent == self.root or self.root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break  # Not empty: another checkout lives there.


def _random_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
