"""Merging bursts of events: the newest update per item wins, log chunks are joined."""

from __future__ import annotations

from typing import Any, cast

from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.eventbus.payloads import Payload


def _identity(event: Event) -> tuple[str, str, str] | None:
    """What an event is about, when later events about the same thing replace it."""
    if event.kind in (
        EventKind.JOB_UPDATE,
        EventKind.TASK_UPDATE,
        EventKind.WORKER_UPDATE,
        EventKind.LAST_RENDERED_UPDATE,
        EventKind.FARM_STATUS,
    ):
        fields = _fields(event.payload)
        item = str(fields.get("id") or fields.get("job_id") or "")
        return (event.kind, event.topic, item)
    if event.kind == EventKind.TASK_LOG_UPDATE:
        return (event.kind, event.topic, str(_fields(event.payload).get("task_id", "")))
    return None


class Coalescer:
    """Collects events between flushes; order follows each item's first event."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, str] | int, Event] = {}
        self._counter = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, event: Event) -> None:
        identity = _identity(event)
        if identity is None:
            # Lifecycle and tag events are rare and each one matters.
            self._counter += 1
            self._pending[self._counter] = event
            return
        earlier = self._pending.get(identity)
        if earlier is None:
            self._pending[identity] = event
        elif event.kind == EventKind.TASK_LOG_UPDATE:
            joined = _fields(earlier.payload)["log"] + _fields(event.payload)["log"]
            merged = {**event.payload, "log": joined}
            self._pending[identity] = Event(event.topic, event.kind, cast(Payload, merged))
        else:
            before = _fields(earlier.payload)
            payload = dict(event.payload)
            # Keep where the burst started, so "queued ➜ active" is not lost in between.
            if "previous_status" in before:
                payload["previous_status"] = before["previous_status"]
            elif "previous_status" in payload and before.get("status"):
                payload["previous_status"] = before["status"]
            self._pending[identity] = Event(event.topic, event.kind, cast(Payload, payload))

    def drain(self) -> list[Event]:
        events = list(self._pending.values())
        self._pending.clear()
        return events


def _fields(payload: Payload) -> dict[str, Any]:
    # Merging works on any payload's fields alike; a newer payload of the same kind
    # replaces an older one, so the result keeps the kind's shape.
    return cast(dict[str, Any], payload)
