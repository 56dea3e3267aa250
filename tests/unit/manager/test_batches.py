"""Socket.IO fan-out: the batches each batched client gets, and the pause between flushes."""

from __future__ import annotations

import pytest

from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.eventbus.socketio import (
    MAX_FLUSH_INTERVAL,
    batches_by_recipients,
    pause_after_flush,
)


def event(topic: str, item: str) -> Event:
    return Event(
        topic, EventKind.TASK_UPDATE if "/jobs/" in topic else EventKind.JOB_UPDATE, {"id": item}
    )


def test_clients_in_the_same_rooms_share_one_batch() -> None:
    events = [event("/jobs", "job-1"), event("/jobs/job-1", "task-1"), event("/jobs", "job-2")]
    participants = {"/jobs": ["a", "b", "c"], "/jobs/job-1": ["c"]}
    assert batches_by_recipients(events, participants) == {
        (0, 2): ["a", "b"],
        (0, 1, 2): ["c"],
    }


def test_events_nobody_listens_to_make_no_batch() -> None:
    events = [event("/jobs/job-9", "task-1"), event("/workers", "worker-1")]
    assert batches_by_recipients(events, {"/jobs": ["a"], "/workers": []}) == {}


def test_a_batch_keeps_the_order_of_the_flush() -> None:
    events = [event("/jobs/j", "t1"), event("/jobs", "j"), event("/jobs/j", "t2")]
    batches = batches_by_recipients(events, {"/jobs": ["a"], "/jobs/j": ["a"]})
    assert batches == {(0, 1, 2): ["a"]}


def test_flushes_slow_down_only_when_fan_out_would_crowd_the_event_loop() -> None:
    assert pause_after_flush(0, 0.1) == 0.1
    assert pause_after_flush(50, 0.1) == 0.1
    # 500 web interfaces: 25 ms of sending, at most a tenth of the loop's time.
    assert pause_after_flush(500, 0.1) == pytest.approx(0.25)
    assert pause_after_flush(100_000, 0.1) == MAX_FLUSH_INTERVAL
