"""Work notices: which events mean work may be waiting, and who hears about it, how often."""

from __future__ import annotations

from typing import Any

import pytest

from flamenco.manager.config import MQTTClientConfig
from flamenco.manager.eventbus import topics
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.events import work_available
from flamenco.manager.eventbus.mqtt import MQTTForwarder
from flamenco.manager.eventbus.socketio import SocketIOForwarder
from flamenco.manager.eventbus.work_notices import (
    Connection,
    Hint,
    NoticeState,
    WorkNotices,
    hint_for,
    pause_after_round,
)

JOB = "11111111-1111-4111-8111-111111111111"
WORKER = "22222222-2222-4222-8222-222222222222"


def job_event(**payload: Any) -> Event:
    return Event(topics.JOBS, EventKind.JOB_UPDATE, {"id": JOB, **payload})


def task_event(**payload: Any) -> Event:
    return Event(topics.job(JOB), EventKind.TASK_UPDATE, {"id": "t", "job_id": JOB, **payload})


EVERYONE = Hint(everyone=True)
ONE_TASK = Hint(tasks=1)


@pytest.mark.parametrize(
    ("event", "hint"),
    [
        # Jobs: submitted, requeued, resumed, retagged wake everyone waiting.
        (job_event(status="queued"), EVERYONE),
        (job_event(status="queued", previous_status="requeueing"), EVERYONE),
        (job_event(status="queued", previous_status="paused"), EVERYONE),
        (job_event(status="active", previous_status="paused"), EVERYONE),
        # ... but not progress, runnable-to-runnable, stopping or deleting.
        (job_event(status="active"), None),
        (job_event(status="active", previous_status="queued"), None),
        (job_event(status="queued", previous_status="active"), None),
        (job_event(status="paused", previous_status="active"), None),
        (job_event(status="requeueing", previous_status="completed"), None),
        (job_event(status="canceled", previous_status="cancel-requested"), None),
        (job_event(status="queued", delete_requested_at="2026-01-01T00:00:00Z"), None),
        (Event(topics.JOBS, EventKind.JOB_UPDATE, {"id": JOB, "was_deleted": True}), None),
        # Tasks: back in the queue, or completed (its dependents), or just taken.
        (task_event(status="queued", previous_status="active"), ONE_TASK),
        (task_event(status="soft-failed", previous_status="active"), ONE_TASK),
        (task_event(status="queued", previous_status="canceled"), ONE_TASK),
        (task_event(status="completed", previous_status="active"), ONE_TASK),
        (task_event(status="active", previous_status="queued"), ONE_TASK),
        (task_event(status="active", previous_status="soft-failed"), ONE_TASK),
        (task_event(status="active", previous_status="active"), None),
        (task_event(status="failed", previous_status="active"), None),
        (task_event(status="canceled", previous_status="queued"), None),
        (task_event(status="completed", previous_status="completed"), None),
        # Workers: a change to one wakes that one.
        (
            Event(topics.WORKERS, EventKind.WORKER_UPDATE, {"id": WORKER, "status": "awake"}),
            Hint(workers=frozenset({WORKER})),
        ),
        (
            Event(topics.WORKERS, EventKind.WORKER_UPDATE, {"id": WORKER, "deleted_at": "x"}),
            None,
        ),
        # The internal event, for changes that no other event shows.
        (work_available([WORKER, WORKER]), Hint(workers=frozenset({WORKER}))),
        (work_available(), EVERYONE),
        # Everything else says nothing about work.
        (Event(topics.task_log("t"), EventKind.TASK_LOG_UPDATE, {"task_id": "t"}), None),
        (Event(topics.LIFECYCLE, EventKind.LIFECYCLE, {"type": "manager-startup"}), None),
        (Event(topics.FARM_STATUS, EventKind.FARM_STATUS, {"status": "idle"}), None),
        (Event(topics.WORKER_TAGS, EventKind.WORKER_TAG_UPDATE, {"tag": {}}), None),
    ],
)
def test_hint_for_event(event: Event, hint: Hint | None) -> None:
    assert hint_for(event) == hint


def test_hints_merge() -> None:
    merged = Hint(tasks=2, workers=frozenset({"a"})).merged(Hint(tasks=3, workers=frozenset("b")))
    assert merged == Hint(tasks=5, workers=frozenset({"a", "b"}))
    assert Hint(tasks=1).merged(EVERYONE).everyone


def test_pause_grows_with_the_notices_sent() -> None:
    assert pause_after_round(0) == pytest.approx(0.05)
    assert pause_after_round(1000) == pytest.approx(0.5)
    assert pause_after_round(100_000) == 1.0


class FakeSocket:
    def __init__(self) -> None:
        self.sent = 0
        self.closed = False
        self.stuck = False

    def backed_up(self) -> bool:
        return self.stuck or self.closed

    async def send_notice(self) -> None:
        self.sent += 1

    async def close(self) -> None:
        self.closed = True


class Farm:
    """A notice service with Workers connected through fake sockets."""

    def __init__(self, count: int) -> None:
        self.broker = Broker()
        self.notices = WorkNotices(self.broker)
        self.sockets = [FakeSocket() for _ in range(count)]
        self.connections = [
            self.notices.connect(f"worker-{index}", socket)
            for index, socket in enumerate(self.sockets)
        ]

    def sent(self) -> list[int]:
        return [socket.sent for socket in self.sockets]

    async def publish(self, *events: Event) -> int:
        for event in events:
            self.broker.publish(event)
        return await self.notices.deliver_pending()


async def test_a_new_job_wakes_every_waiting_worker_once() -> None:
    farm = Farm(4)
    for connection in farm.connections[:3]:
        assert not farm.notices.waiting(connection)
    farm.notices.not_waiting(farm.connections[2])
    assert await farm.publish(job_event(status="queued")) == 2
    assert farm.sent() == [1, 1, 0, 0]
    # Notified Workers hear nothing more until they say they wait again.
    assert await farm.publish(job_event(status="queued")) == 0
    assert farm.sent() == [1, 1, 0, 0]
    assert farm.connections[0].state == NoticeState.NOTIFIED


async def test_a_change_while_a_worker_answers_its_notice_is_not_lost() -> None:
    farm = Farm(2)
    first, second = farm.connections
    farm.notices.waiting(first)
    farm.notices.waiting(second)
    await farm.publish(job_event(status="queued"))
    # Both ask for a task; meanwhile another job arrives, which they may not have seen.
    await farm.publish(job_event(status="queued", previous_status="paused"))
    assert farm.notices.waiting(first) is True  # Told at once: ask again.
    farm.notices.not_waiting(second)  # Got a task: its next question sees everything.
    assert farm.notices.waiting(second) is False
    # Without further changes, saying "waiting" again gets no notice.
    assert farm.notices.waiting(first) is False


async def test_one_runnable_task_wakes_one_worker_the_longest_waiting() -> None:
    farm = Farm(3)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    assert await farm.publish(task_event(status="queued", previous_status="active")) == 1
    assert farm.sent() == [1, 0, 0]
    assert await farm.publish(task_event(status="completed", previous_status="active")) == 1
    assert farm.sent() == [1, 1, 0]
    # The first one found nothing and waits again: now it is the last in line.
    farm.notices.waiting(farm.connections[0])
    await farm.publish(task_event(status="soft-failed", previous_status="active"))
    await farm.publish(task_event(status="queued", previous_status="canceled"))
    assert farm.sent() == [2, 1, 1]


async def test_more_tasks_than_waiting_workers_marks_those_asking_already() -> None:
    farm = Farm(3)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    await farm.publish(task_event(status="queued", previous_status="active"))
    await farm.publish(task_event(status="queued", previous_status="active"))
    # Two Workers are asking for a task now, one waits; three more tasks come back.
    three = [task_event(status="queued", previous_status="active") for _ in range(3)]
    assert await farm.publish(*three) == 1
    # One notice went out; the other two tasks mark the two that are asking.
    assert [c.missed for c in farm.connections[:2]] == [True, True]


async def test_a_burst_of_ten_thousand_changes_costs_one_notice_per_waiting_worker() -> None:
    farm = Farm(100)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    burst = [task_event(status="queued", previous_status="active") for _ in range(10_000)]
    burst += [job_event(status="queued", previous_status="requeueing")] * 100
    assert await farm.publish(*burst) == 100
    assert farm.sent() == [1] * 100
    assert farm.notices.counters.rounds == 1


async def test_a_change_to_one_worker_wakes_only_that_one() -> None:
    farm = Farm(3)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    update = {"id": "worker-1", "status": "awake"}
    await farm.publish(Event(topics.WORKERS, EventKind.WORKER_UPDATE, update))
    assert farm.sent() == [0, 1, 0]
    await farm.publish(work_available(["worker-2", "worker-9"]))
    assert farm.sent() == [0, 1, 1]


async def test_workers_that_stopped_reading_are_skipped() -> None:
    farm = Farm(2)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    farm.sockets[0].stuck = True
    assert await farm.publish(job_event(status="queued")) == 1
    assert farm.sent() == [0, 1]


async def test_disconnected_workers_are_forgotten() -> None:
    farm = Farm(2)
    for connection in farm.connections:
        farm.notices.waiting(connection)
    farm.notices.disconnect(farm.connections[0])
    assert farm.notices.connection_count == 1
    assert farm.notices.waiting_count == 1
    assert await farm.publish(job_event(status="queued")) == 1
    assert farm.sent() == [0, 1]


async def test_nothing_is_kept_while_no_worker_is_connected() -> None:
    broker = Broker()
    notices = WorkNotices(broker)
    broker.publish(job_event(status="queued"))
    connection: Connection = notices.connect(WORKER, FakeSocket())
    notices.waiting(connection)
    assert await notices.deliver_pending() == 0


async def test_close_closes_every_socket_and_refuses_new_ones() -> None:
    farm = Farm(3)
    await farm.notices.close()
    assert farm.notices.closed
    assert all(socket.closed for socket in farm.sockets)


def test_the_internal_event_is_not_forwarded_to_socketio_or_mqtt() -> None:
    broker = Broker()
    socket_io = SocketIOForwarder(broker)
    mqtt = MQTTForwarder(broker, MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:9"))
    broker.publish(work_available(["worker-1"]))
    broker.publish(work_available())
    assert len(socket_io._coalescer) == 0
    assert mqtt._queue.qsize() == 0
