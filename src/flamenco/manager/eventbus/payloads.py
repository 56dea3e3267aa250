"""Event payloads as TypedDicts, one per Event* schema of the spec (a test holds them to it)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class AssignedWorker(TypedDict):
    name: str
    uuid: str


class WorkerStatusChangeRequest(TypedDict):
    status: str
    is_lazy: bool


class WorkerTagPayload(TypedDict):
    id: str
    name: str
    description: NotRequired[str]


class LastRenderedImageInfo(TypedDict):
    base: str
    suffixes: list[str]


class EventJobUpdate(TypedDict):
    id: str
    name: str
    updated: str
    status: str
    type: str
    priority: int
    refresh_tasks: bool
    steps_completed: int
    steps_total: int
    previous_status: NotRequired[str]
    delete_requested_at: NotRequired[str]
    was_deleted: NotRequired[bool]


class EventTaskUpdate(TypedDict):
    id: str
    job_id: str
    name: str
    updated: str
    status: str
    activity: str
    steps_completed: int
    steps_total: int
    worker: NotRequired[AssignedWorker]
    previous_status: NotRequired[str]


class EventTaskLogUpdate(TypedDict):
    task_id: str
    log: str


class EventLastRenderedUpdate(TypedDict):
    job_id: str
    task_id: str
    thumbnail: LastRenderedImageInfo


class EventWorkerUpdate(TypedDict):
    id: str
    name: str
    updated: str
    status: str
    version: str
    can_restart: bool
    last_seen: NotRequired[str]
    previous_status: NotRequired[str]
    status_change: NotRequired[WorkerStatusChangeRequest]
    deleted_at: NotRequired[str]


class EventWorkerTagUpdate(TypedDict):
    tag: WorkerTagPayload
    was_deleted: NotRequired[bool]


class EventLifeCycle(TypedDict):
    type: Literal["manager-startup", "manager-shutdown"]


class FarmAlarm(TypedDict):
    kind: str
    message: str
    since: str


class EventFarmStatus(TypedDict):
    status: str
    alarms: NotRequired[list[FarmAlarm]]


class WorkAvailable(TypedDict, total=False):
    """Internal, never sent to clients: which Workers may find work (all when absent)."""

    workers: list[str]


Payload = (
    EventJobUpdate
    | EventTaskUpdate
    | EventTaskLogUpdate
    | EventLastRenderedUpdate
    | EventWorkerUpdate
    | EventWorkerTagUpdate
    | EventLifeCycle
    | EventFarmStatus
    | WorkAvailable
)
