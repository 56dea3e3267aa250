"""Live events between Manager processes: each process's events reach every other's broker.

With several Manager processes, a browser, a Worker waiting for work or the MQTT
forwarder is connected to one process, but the change it wants to hear about
may happen in another. The relay publishes the events of this process to a
Redis channel, a batch per moment, and puts the events other processes publish
there into this process's broker, where its forwarders deliver them as their own.

Redis pub/sub delivers at most once: while Redis is away, events are dropped
(logged once), and the web interface reloads what it shows after it reconnects.
Lifecycle events stay in their process: one process stopping is not the farm stopping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from typing import Any, cast

from redis import asyncio as aioredis
from redis import exceptions as redis_errors

from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.payloads import Payload

logger = logging.getLogger(__name__)

# Events published within this long travel together, as one Redis message.
FLUSH_INTERVAL_SECONDS = 0.01
# A burst beyond this many waiting events is dropped rather than kept in memory.
MAX_PENDING_EVENTS = 100_000
RECONNECT_DELAYS_SECONDS = (0.5, 1.0, 2.0, 5.0)
LOCAL_ONLY_KINDS = frozenset({EventKind.LIFECYCLE})


class RedisEventRelay:
    """Bridges this process's broker and the farm's Redis channel."""

    def __init__(self, broker: Broker, redis_url: str, channel: str) -> None:
        self._broker = broker
        self._url = redis_url
        self._channel = channel
        self._origin = secrets.token_hex(8)
        # Redis sends each process its own batches too. Every batch starts with its
        # origin (json.dumps keeps the keys' order), so this process skips its own
        # without decoding them: with two busy processes, decoding every batch took
        # about a tenth of each one's event loop.
        self._own_batch_start = _batch_start(self._origin)
        self._pending: list[Event] = []
        self._have_pending = asyncio.Event()
        self._relaying = False
        self._dropped = 0
        self._connected = False
        broker.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if self._relaying or event.kind in LOCAL_ONLY_KINDS:
            return  # From another process, or meant for this one only.
        if len(self._pending) >= MAX_PENDING_EVENTS or not self._connected:
            self._dropped += 1
            return
        self._pending.append(event)
        self._have_pending.set()

    async def run(self) -> None:
        failures = 0
        while True:
            client = aioredis.Redis.from_url(self._url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._connected = True
                    if failures:
                        logger.warning("live events between Manager processes resumed")
                    failures = 0
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._send(client))
                        group.create_task(self._receive(pubsub))
            except* (
                redis_errors.ConnectionError,
                redis_errors.TimeoutError,
                OSError,
            ) as group:
                self._connected = False
                self._pending.clear()
                if failures == 0:
                    logger.error(
                        "live events between Manager processes are interrupted, "
                        "retrying until Redis answers",
                        extra={"error": str(group.exceptions[0]), "redis": self._url},
                    )
                delay = RECONNECT_DELAYS_SECONDS[min(failures, len(RECONNECT_DELAYS_SECONDS) - 1)]
                failures += 1
                await asyncio.sleep(delay)
            finally:
                self._connected = False
                await client.aclose()

    async def _send(self, client: aioredis.Redis) -> None:
        while True:
            await self._have_pending.wait()
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            events, self._pending = self._pending, []
            self._have_pending.clear()
            if self._dropped:
                logger.warning(
                    "%d events were not relayed to other Manager processes", self._dropped
                )
                self._dropped = 0
            await client.publish(self._channel, _encode_batch(self._origin, events))

    async def _receive(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            data = message["data"]
            if data.startswith(self._own_batch_start):
                continue
            try:
                batch = json.loads(data)
                events = [
                    Event(topic, EventKind(kind), cast(Payload, payload))
                    for topic, kind, payload in batch["events"]
                ]
            except (ValueError, KeyError, TypeError):
                logger.warning("ignoring a malformed event batch from Redis")
                continue
            self._relaying = True
            try:
                for event in events:
                    self._broker.publish(event)
            finally:
                self._relaying = False


def _encode_batch(origin: str, events: list[Event]) -> bytes:
    batch = {  # The origin first: see _batch_start.
        "origin": origin,
        "events": [[event.topic, str(event.kind), event.payload] for event in events],
    }
    return json.dumps(batch).encode()


def _batch_start(origin: str) -> bytes:
    """How every batch from `origin` begins: its JSON object up to the origin's value."""
    return json.dumps({"origin": origin}).removesuffix("}").encode()


def channel_for_farm(database_location: str) -> str:
    """One channel per farm, named after its database, so farms can share a Redis."""
    digest = hashlib.sha256(database_location.encode()).hexdigest()[:16]
    return f"flamenco:{digest}:events"
