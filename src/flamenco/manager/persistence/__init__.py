"""Persistence: the Manager's SQLite database, its schema and its queries."""

from __future__ import annotations

from flamenco.manager.persistence.database import Database
from flamenco.manager.persistence.errors import (
    DatabaseBusy,
    IntegrityError,
    JobNotFound,
    NotFound,
    PersistenceError,
    TaskNotFound,
    UniqueViolation,
    WorkerNotFound,
    WorkerTagNotFound,
)

__all__ = [
    "Database",
    "DatabaseBusy",
    "IntegrityError",
    "JobNotFound",
    "NotFound",
    "PersistenceError",
    "TaskNotFound",
    "UniqueViolation",
    "WorkerNotFound",
    "WorkerTagNotFound",
]
