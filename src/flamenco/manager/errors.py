"""The one base for requests the Manager understands but refuses, with the HTTP status to answer."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path


class RequestRefused(Exception):
    """A request that cannot be carried out; `status` is the HTTP status that says why."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class DiskFull(RequestRefused):
    """A write failed because the disk (or the quota) holding `where` is full.

    507 Insufficient Storage rather than 503: waiting does not help until someone
    frees space, and the message says where. `directory` is where the Manager
    checks for space coming back; None where it cannot look (a PostgreSQL server).
    """

    status = 507

    def __init__(self, where: str, *, directory: Path | None = None) -> None:
        super().__init__(
            f"the disk is full: cannot write to {where}; the Manager carries on "
            "by itself once space is freed there"
        )
        self.where = where
        self.directory = directory


def is_disk_full(error: BaseException) -> bool:
    """Whether a file system call failed for want of space (or quota)."""
    return isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS


_DISK_FULL_ERRNOS = frozenset(
    number for number in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if number is not None
)


@contextlib.contextmanager
def disk_full_as(where: str, directory: Path) -> Iterator[None]:
    """Turn a file system error for want of space inside the block into DiskFull."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            raise DiskFull(where, directory=directory) from error
        raise
