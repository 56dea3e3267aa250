"""Two processes' event relays on a real Redis channel: each event reaches the other once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from flamenco.manager.cluster.event_relay import RedisEventRelay
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from support.cluster import REDIS_URL
from support.waiting import until

pytestmark = pytest.mark.timeout(60)


class Process:
    """What one Manager process has of the relay: its broker, what reached it, its relay."""

    def __init__(self, channel: str) -> None:
        self.broker = Broker()
        self.heard: list[Event] = []
        self.broker.subscribe(self.heard.append)
        self.relay = RedisEventRelay(self.broker, REDIS_URL, channel)

    def topics(self) -> list[str]:
        return [event.topic for event in self.heard]


@pytest.fixture
async def two_processes() -> AsyncIterator[tuple[Process, Process]]:
    channel = f"flamenco:test-{secrets.token_hex(4)}:events"
    first, second = Process(channel), Process(channel)
    runs = [asyncio.create_task(process.relay.run()) for process in (first, second)]
    try:
        # Events published before a relay has subscribed are dropped: probe until one
        # travels each way.
        for sender, receiver in ((first, second), (second, first)):
            topic = f"probe-{id(sender)}"

            async def arrived(
                sender: Process = sender, receiver: Process = receiver, topic: str = topic
            ) -> bool:
                sender.broker.publish(Event(topic, EventKind.JOB_UPDATE, {}))
                await asyncio.sleep(0.05)
                return topic in receiver.topics()

            await until(arrived, timeout=10)
        await asyncio.sleep(0.1)  # Probes still on their way.
        first.heard.clear()
        second.heard.clear()
        yield first, second
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)


async def test_each_event_reaches_the_other_process_once_and_never_comes_back(
    two_processes: tuple[Process, Process],
) -> None:
    first, second = two_processes
    for number in range(50):
        first.broker.publish(Event(f"job-{number}", EventKind.JOB_UPDATE, {"n": number}))
    second.broker.publish(Event("worker", EventKind.WORKER_UPDATE, {"id": "w"}))
    await until(lambda: len(first.heard) >= 51 and len(second.heard) >= 51)
    await asyncio.sleep(0.1)  # Anything echoed back would have arrived by now.

    jobs = [f"job-{number}" for number in range(50)]
    # Each process hears its own events at once, the other's after them, each once.
    assert first.topics() == [*jobs, "worker"]
    assert second.topics() == ["worker", *jobs]
    assert second.heard[4] == Event("job-3", EventKind.JOB_UPDATE, {"n": 3})


async def test_lifecycle_events_stay_in_their_process(
    two_processes: tuple[Process, Process],
) -> None:
    first, second = two_processes
    first.broker.publish(Event("lifecycle", EventKind.LIFECYCLE, {}))
    first.broker.publish(Event("after", EventKind.JOB_UPDATE, {}))
    await until(lambda: "after" in second.topics())
    assert second.topics() == ["after"]
