"""The records job compilation produces: authored jobs, tasks and commands, job type listings."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthoredCommand:
    """One command of a task, as the job-type script wrote it."""

    name: str
    parameters: dict[str, Any]
    total_step_count: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthoredTask:
    """One task of a compiled job.

    `dependencies` holds the UUIDs of other tasks of the same job, in the order
    the script added them. As upstream, a task may depend on a task that the
    script added to the job after it; there are no cycles.
    """

    uuid: str
    name: str
    task_type: str
    priority: int
    commands: list[AuthoredCommand]
    dependencies: list[str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthoredJob:
    """A submitted job after its script ran: settings as the script left them, and its tasks."""

    job_id: str
    name: str
    job_type: str
    priority: int
    created: datetime.datetime
    settings: dict[str, Any]
    metadata: dict[str, str]
    tasks: list[AuthoredTask]
    # Our extension: task type -> names of the farm-wide resource limits its tasks take,
    # as the job type's JOB_TYPE.resourceLimits declares (for the types this job has).
    resource_limits: dict[str, list[str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BrokenJobType:
    """A job-type script that failed to load, and why."""

    name: str
    file: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobTypeListing:
    """The job types on offer (AvailableJobType JSON dicts, sorted by name) and the broken ones."""

    job_types: list[dict[str, Any]]
    broken: list[BrokenJobType]
