"""Merging bursts of events before they go to Socket.IO clients."""

from __future__ import annotations

from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.eventbus.coalescer import Coalescer


def task_event(task_id: str, status: str, previous: str | None = None) -> Event:
    payload = {"id": task_id, "status": status}
    if previous:
        payload["previous_status"] = previous
    return Event(f"/jobs/job-{task_id[0]}", EventKind.TASK_UPDATE, payload)


def test_newest_update_per_task_wins_and_keeps_first_previous_status() -> None:
    coalescer = Coalescer()
    coalescer.add(task_event("a1", "active", "queued"))
    coalescer.add(task_event("b1", "active", "queued"))
    coalescer.add(task_event("a1", "completed", "active"))
    drained = coalescer.drain()
    assert [
        (e.payload["id"], e.payload["status"], e.payload["previous_status"]) for e in drained
    ] == [
        ("a1", "completed", "queued"),
        ("b1", "active", "queued"),
    ]
    assert coalescer.drain() == []


def test_log_chunks_are_joined_not_dropped() -> None:
    coalescer = Coalescer()
    for line in ("one\n", "two\n", "three\n"):
        coalescer.add(Event("/tasklog/t", EventKind.TASK_LOG_UPDATE, {"task_id": "t", "log": line}))
    (event,) = coalescer.drain()
    assert event.payload == {"task_id": "t", "log": "one\ntwo\nthree\n"}


def test_lifecycle_and_tag_events_are_all_kept() -> None:
    coalescer = Coalescer()
    coalescer.add(Event("/lifecycle", EventKind.LIFECYCLE, {"type": "manager-startup"}))
    coalescer.add(Event("/lifecycle", EventKind.LIFECYCLE, {"type": "manager-shutdown"}))
    tag = {"tag": {"id": "x", "name": "gpu"}}
    coalescer.add(Event("/workertags", EventKind.WORKER_TAG_UPDATE, tag))
    coalescer.add(Event("/workertags", EventKind.WORKER_TAG_UPDATE, {**tag, "was_deleted": True}))
    assert len(coalescer.drain()) == 4


def test_burst_of_ten_thousand_task_updates_becomes_one_per_task() -> None:
    coalescer = Coalescer()
    for step in range(10):
        for number in range(1000):
            coalescer.add(task_event(f"t{number}", f"step-{step}"))
    drained = coalescer.drain()
    assert len(drained) == 1000
    assert {e.payload["status"] for e in drained} == {"step-9"}
