"""Log chunking by size and age, and the reporter's ordering of log text and task updates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flamenco.clock import SystemClock
from flamenco.worker.client import Answer, ManagerUnreachable, TaskReassigned
from flamenco.worker.log_chunker import LogChunker
from flamenco.worker.reporter import Reporter
from flamenco.worker.upstream_buffer import UpstreamBuffer
from support.fakes import FakeClock

TASK = "90e9d656-e201-4ef0-b6b0-c80684fafa27"


def test_chunker_empty_has_nothing_due() -> None:
    chunker = LogChunker(FakeClock())
    assert chunker.empty
    assert chunker.seconds_until_due() is None
    assert not chunker.due()
    assert chunker.take() == ""


def test_chunker_joins_lines() -> None:
    chunker = LogChunker(FakeClock())
    chunker.append_lines(["one", "two"])
    chunker.append("three")
    assert chunker.characters == len("one\ntwo\nthree\n")
    assert chunker.take() == "one\ntwo\nthree\n"
    assert chunker.empty


def test_chunker_due_by_size() -> None:
    chunker = LogChunker(FakeClock(), max_characters=10)
    chunker.append("12345678")
    assert not chunker.due()
    chunker.append("9")
    assert chunker.due()


def test_chunker_due_by_age_of_first_line() -> None:
    clock = FakeClock()
    chunker = LogChunker(clock, max_age=0.25)
    chunker.append("first")
    clock.advance(0.2)
    chunker.append("second")
    assert chunker.seconds_until_due() == pytest.approx(0.05)
    clock.advance(0.05)
    assert chunker.due()
    chunker.take()
    chunker.append("third")
    assert not chunker.due()


class FakeManager:
    """Records task updates; can pretend to be down or to refuse."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.down = False
        self.status = 204

    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer:
        await asyncio.sleep(0)
        if self.down:
            raise ManagerUnreachable("connection refused")
        self.updates.append((task_id, update))
        return Answer(self.status, None if self.status == 204 else {"message": "no"})


async def open_buffer(tmp_path: Path, manager: FakeManager) -> UpstreamBuffer:
    buffer = UpstreamBuffer(manager, FakeClock(), tmp_path / "flamenco-worker.sqlite")
    await buffer.open()
    return buffer


async def test_buffer_close_unopened(tmp_path: Path) -> None:
    buffer = UpstreamBuffer(FakeManager(), FakeClock(), tmp_path / "x.sqlite")
    await buffer.close()


async def test_buffer_queues_while_manager_away_and_flushes_in_order(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)
    await buffer.send(TASK, {"activity": "one"})
    manager.down = True
    await buffer.send(TASK, {"activity": "two"})
    manager.down = False
    # Something is queued, so this one queues behind it instead of overtaking it.
    await buffer.send(TASK, {"activity": "three"})
    assert buffer.queued == 2
    assert [u["activity"] for _, u in manager.updates] == ["one"]
    assert await buffer.flush()
    assert [u["activity"] for _, u in manager.updates] == ["one", "two", "three"]
    assert buffer.queued == 0
    await buffer.close()


async def test_buffer_survives_a_restart(tmp_path: Path) -> None:
    manager = FakeManager()
    manager.down = True
    buffer = await open_buffer(tmp_path, manager)
    for number in range(5):
        await buffer.send(TASK, {"log": f"line {number}\n"})
    await buffer.close()
    manager.down = False
    reopened = await open_buffer(tmp_path, manager)
    assert reopened.queued == 5
    await reopened.flush()
    assert [u["log"] for _, u in manager.updates] == [f"line {n}\n" for n in range(5)]
    await reopened.close()


async def test_buffer_refusals(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)
    manager.status = 409
    with pytest.raises(TaskReassigned):
        await buffer.send(TASK, {"activity": "x"})
    # Queued updates that the Manager refuses are dropped: sending them again would not help.
    manager.down = True
    await buffer.send(TASK, {"activity": "y"})
    manager.down = False
    assert await buffer.flush()
    assert buffer.queued == 0
    await buffer.close()


async def test_buffer_stress_keeps_order(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)

    async def flapping() -> None:
        for _ in range(20):
            manager.down = not manager.down
            await asyncio.sleep(0.001)
        manager.down = False

    flapper = asyncio.create_task(flapping())
    for number in range(200):
        await buffer.send(TASK, {"activity": str(number)})
    await flapper
    await buffer.flush()
    assert [int(u["activity"]) for _, u in manager.updates] == list(range(200))
    await buffer.close()


async def test_reporter_keeps_logs_before_the_update_that_follows(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)
    reporter = Reporter(buffer, SystemClock())
    sender = asyncio.create_task(reporter.run())
    reporter.log_lines(TASK, ["first line", "second line"])
    reporter.step(TASK, 1)
    reporter.log(TASK, "third line")
    await reporter.update(TASK, {"taskStatus": "completed", "activity": "Completed"})
    sender.cancel()
    assert manager.updates == [
        (TASK, {"log": "first line\nsecond line\n"}),
        (TASK, {"activity": "Progress", "steps_completed": 1}),
        (TASK, {"log": "third line\n"}),
        (TASK, {"taskStatus": "completed", "activity": "Completed"}),
    ]
    await buffer.close()


async def test_reporter_sends_pending_lines_on_its_own(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)
    reporter = Reporter(buffer, SystemClock(), chunker=LogChunker(SystemClock(), max_age=0.01))
    sender = asyncio.create_task(reporter.run())
    reporter.log_lines(TASK, ["soon"])
    for _ in range(100):
        if manager.updates:
            break
        await asyncio.sleep(0.01)
    sender.cancel()
    assert manager.updates == [(TASK, {"log": "soon\n"})]
    await buffer.close()


async def test_reporter_update_raises_when_reassigned(tmp_path: Path) -> None:
    manager = FakeManager()
    buffer = await open_buffer(tmp_path, manager)
    reporter = Reporter(buffer, SystemClock())
    sender = asyncio.create_task(reporter.run())
    manager.status = 409
    with pytest.raises(TaskReassigned):
        await reporter.update(TASK, {"taskStatus": "active"})
    sender.cancel()
    await buffer.close()


async def test_reporter_close_queues_what_is_left(tmp_path: Path) -> None:
    manager = FakeManager()
    manager.down = True
    buffer = await open_buffer(tmp_path, manager)
    reporter = Reporter(buffer, SystemClock())
    reporter.log_lines(TASK, ["never sent live"])
    await reporter.close()
    assert buffer.queued == 1
    manager.down = False
    await buffer.flush()
    assert manager.updates == [(TASK, {"log": "never sent live\n"})]
    await buffer.close()
