"""Persistence: the Manager's database (SQLite or PostgreSQL), its schemas and its queries."""

from __future__ import annotations

from flamenco.manager.persistence.connection import Connection, Dialect
from flamenco.manager.persistence.databases import Database, open_database
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
    "Connection",
    "Database",
    "DatabaseBusy",
    "Dialect",
    "IntegrityError",
    "JobNotFound",
    "NotFound",
    "PersistenceError",
    "TaskNotFound",
    "UniqueViolation",
    "WorkerNotFound",
    "WorkerTagNotFound",
    "open_database",
]
