"""Persistence errors.

PersistenceError
 +-- NotFound
 |    +-- JobNotFound
 |    +-- TaskNotFound
 |    +-- WorkerNotFound
 |    +-- WorkerTagNotFound
 +-- DatabaseBusy
 |    +-- DatabaseUnavailable
 |    +-- LostRace
 +-- IntegrityError
 +-- DatabaseNotWritable
 +-- UniqueViolation

A full disk is flamenco.manager.errors.DiskFull (507), as for any other file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flamenco.manager.persistence.integrity import IntegrityReport


class PersistenceError(Exception):
    """Database error."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)
        self.message = message or self.__doc__ or ""


class NotFound(PersistenceError):
    """Not found."""


class JobNotFound(NotFound):
    """Job not found."""


class TaskNotFound(NotFound):
    """Task not found."""


class WorkerNotFound(NotFound):
    """Worker not found."""


class WorkerTagNotFound(NotFound):
    """Worker tag not found."""


class DatabaseBusy(PersistenceError):
    """The database is busy, try again later."""


class DatabaseUnavailable(DatabaseBusy):
    """The database server cannot be reached right now, try again later."""


class LostRace(DatabaseBusy):
    """The transaction lost a race with another one, try again."""


class IntegrityError(PersistenceError):
    """The database failed its integrity check."""

    def __init__(
        self, message: str | None = None, *, path: str = "", report: IntegrityReport | None = None
    ) -> None:
        super().__init__(message)
        # The database file, and what the checks found (None when it could not be opened).
        self.path = path
        self.report = report


class DatabaseNotWritable(PersistenceError):
    """The Manager may read the database but not write it; it refuses to start."""


class UniqueViolation(PersistenceError):
    """A row with the same unique value exists already."""
