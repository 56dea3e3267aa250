"""Status enums whose values are the OpenAPI spec's strings."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    PAUSE_REQUESTED = "pause-requested"
    QUEUED = "queued"
    CANCEL_REQUESTED = "cancel-requested"
    REQUEUEING = "requeueing"
    UNDER_CONSTRUCTION = "under-construction"


class TaskStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    QUEUED = "queued"
    SOFT_FAILED = "soft-failed"
    PAUSED = "paused"


class WorkerStatus(StrEnum):
    STARTING = "starting"
    AWAKE = "awake"
    ASLEEP = "asleep"
    ERROR = "error"
    TESTING = "testing"
    OFFLINE = "offline"
    RESTART = "restart"


class FarmStatus(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    WAITING = "waiting"
    ASLEEP = "asleep"
    INOPERATIVE = "inoperative"
    UNKNOWN = "unknown"
    STARTING = "starting"


class AlarmKind(StrEnum):
    """What raised a farm alarm (our extension of the farm status report)."""

    DATABASE_INTEGRITY = "database-integrity"
    DATABASE_BACKUP = "database-backup"
    DISK_FULL = "disk-full"
