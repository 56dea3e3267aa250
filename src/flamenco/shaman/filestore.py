"""The content-addressed file store: the on-disk layout of stored and uploading files.

Upstream's layout, under `<shared storage>/file-store/`:

    uploading/<sha[0:2]>/<sha[2:]>/<size>-<random>.tmp   files being received
    stored/<sha[0:2]>/<sha[2:]>/<size>.blob              complete, verified files

Every method that touches the disk ends in `_blocking`; the Shaman facade runs
them in threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from flamenco.shaman import errors

logger = logging.getLogger(__name__)

_CHECKSUM = re.compile(r"[0-9a-fA-F]{64}")
# Sizes are int64 to upstream; larger ones would also make stored file names
# (`<size>.blob`) too long for the file system.
MAX_FILE_SIZE = 2**63 - 1

# New files and directories get the process umask applied to these, as upstream:
# Workers often run as another user and must be able to read what the Manager stored.
FILE_MODE = 0o666
DIRECTORY_MODE = 0o777

TEMP_SUFFIX = ".tmp"
BLOB_SUFFIX = ".blob"


@dataclasses.dataclass(frozen=True, slots=True)
class FileKey:
    """What identifies a file in Shaman: its SHA-256 (lower-case hex) and its size."""

    sha: str
    size: int

    @classmethod
    def parse(cls, sha: object, size: object) -> FileKey:
        """Check a checksum and size from a client; both end up in file names."""
        if not isinstance(sha, str) or not _CHECKSUM.fullmatch(sha):
            raise errors.InvalidFileKey(
                f"invalid checksum {sha!r}: expected 64 hexadecimal digits (SHA-256)"
            )
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise errors.InvalidFileKey(f"invalid file size {size!r}: expected a number of bytes")
        if size > MAX_FILE_SIZE:
            raise errors.InvalidFileKey(
                f"invalid file size {size}: at most {MAX_FILE_SIZE} bytes (2^63 - 1)"
            )
        return cls(sha.lower(), size)

    @property
    def partial_path(self) -> Path:
        return Path(self.sha[:2], self.sha[2:])


class FileStore:
    """The `file-store` directory: files by checksum and size, and uploads in progress."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploading_root = root / "uploading"
        self.stored_root = root / "stored"
        self._stored_text = str(self.stored_root)
        # Held while files are touched to mark them in use, and while garbage
        # collection checks and deletes one: a file is either touched before
        # that check, and kept, or deleted before the touch, and reported missing.
        self._reference_lock = threading.Lock()

    def create_directories_blocking(self) -> None:
        for directory in (self.uploading_root, self.stored_root):
            directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)

    def stored_path(self, key: FileKey) -> Path:
        return Path(self.stored_path_text(key))

    def stored_path_text(self, key: FileKey) -> str:
        """stored_path() as a string: several times faster, for loops over many files."""
        return self._stored_text + os.sep + self.stored_relative_text(key)

    @staticmethod
    def stored_relative_text(key: FileKey) -> str:
        """Where the file for `key` is, relative to the `stored` directory."""
        return f"{key.sha[:2]}{os.sep}{key.sha[2:]}{os.sep}{key.size}{BLOB_SUFFIX}"

    def is_stored_blocking(self, key: FileKey) -> bool:
        return self.stored_path(key).is_file()

    def touch_stored_blocking(self, keys: Iterable[FileKey]) -> set[FileKey]:
        """Mark stored files as used just now; returns the keys that are not stored."""
        missing = set()
        with self._reference_lock:
            for key in keys:
                path = self.stored_path_text(key)
                try:
                    os.utime(path)
                except FileNotFoundError:
                    missing.add(key)
                except PermissionError:
                    # Stored by another user: usable, just not touchable.
                    if not os.path.isfile(path):
                        missing.add(key)
        return missing

    def remove_unused_blocking(
        self, path: Path, seen_mtime_ns: int, *, dry_run: bool
    ) -> int | None:
        """Delete a stored file unless it changed since `seen_mtime_ns`; returns its size.

        None means it was kept: touched since it was seen, hard-linked into a
        checkout meanwhile, or already gone.
        """
        with self._reference_lock:
            try:
                info = path.stat()
            except FileNotFoundError:
                return None
            if info.st_mtime_ns != seen_mtime_ns or info.st_nlink > 1:
                return None
            if not dry_run:
                self.remove_stored_blocking(path)
            return info.st_size

    def open_temp_blocking(self, key: FileKey) -> tuple[int, Path]:
        """Create a new, empty temporary file for an upload; returns its descriptor and path."""
        directory = self.uploading_root / key.partial_path
        directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            path = directory / f"{key.size}-{secrets.randbelow(10**9):09d}{TEMP_SUFFIX}"
            try:
                return os.open(path, flags, FILE_MODE), path
            except FileExistsError:
                continue

    def adopt_blocking(self, temp_path: Path, key: FileKey) -> bool:
        """Move a verified upload into the store; False when the file was there already.

        The file system decides between concurrent uploads of the same file: a hard
        link never replaces an existing file, so exactly one upload lands. Where
        hard links are not possible, an existence check and a rename do the job,
        which is safe within this process as uploads of one file finish one at a time.
        """
        target = self.stored_path(key)
        target.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        try:
            os.link(temp_path, target)
        except FileExistsError:
            return False
        except OSError:
            # No hard links on this file system (FAT, some network shares).
            if target.exists():
                return False
            os.replace(temp_path, target)
            return True
        self.remove_temp_blocking(temp_path)
        return True

    def remove_temp_blocking(self, path: Path) -> None:
        """Remove an upload's temporary file, if it is still there, and its empty directories."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._remove_empty_parents(path, self.uploading_root)

    def remove_stored_blocking(self, path: Path) -> None:
        path.unlink()
        self._remove_empty_parents(path, self.stored_root)

    def temp_files_blocking(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every temporary upload file, with its status."""
        for path, stat in _files_below(self.uploading_root):
            if path.name.endswith(TEMP_SUFFIX):
                yield path, stat

    def stored_files_blocking(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every stored file, with its status."""
        for path, stat in _files_below(self.stored_root):
            if path.name.endswith(BLOB_SUFFIX):
                yield path, stat

    @staticmethod
    def _remove_empty_parents(path: Path, root: Path) -> None:
        # Only the two levels of checksum directories; a non-empty one stays.
        for directory in (path.parent, path.parent.parent):
            if directory == root or root not in directory.parents:
                return
            try:
                directory.rmdir()
            except OSError:
                return


def _files_below(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files under `root`, depth first, never following symbolic links."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield Path(entry.path), entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # Removed while we looked, say by a finishing upload.
