"""In-process publish/subscribe: services publish events, forwarders deliver them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flamenco.manager.eventbus.payloads import Payload

logger = logging.getLogger(__name__)


class EventKind(StrEnum):
    """The kind of payload, named after the Socket.IO event that carries it."""

    LIFECYCLE = "/lifecycle"
    FARM_STATUS = "/status"
    JOB_UPDATE = "/jobs"
    TASK_UPDATE = "/task"
    TASK_LOG_UPDATE = "/tasklog"
    LAST_RENDERED_UPDATE = "/last-rendered"
    WORKER_UPDATE = "/workers"
    WORKER_TAG_UPDATE = "/workertags"
    # Internal, not in the spec and never forwarded to Socket.IO or MQTT: work may
    # be waiting where no other event says so (see work_notices.py).
    WORK_AVAILABLE = "/work-available"


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    kind: EventKind
    payload: Payload


Subscriber = Callable[[Event], None]


class Broker:
    """Delivers every published event to every subscriber, synchronously.

    Subscribers must not block: forwarders that do I/O queue the event and
    deliver it from their own task.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                logger.exception("event subscriber failed", extra={"topic": event.topic})
