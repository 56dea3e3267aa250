"""Socket.IO: the web interface's live feed, with upstream's rooms and subscription messages."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as engineio_packet
from socketio import packet as socketio_packet

from flamenco.manager.eventbus import topics
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.coalescer import Coalescer

logger = logging.getLogger(__name__)

SUBSCRIPTION_EVENT = "/subscription"
# How many client sends a burst may make before HTTP requests get the event loop.
SENDS_BETWEEN_YIELDS = 100

# Rooms every client is in from the moment it connects.
DEFAULT_ROOMS = (topics.LIFECYCLE, topics.FARM_STATUS)

# Subscription types that need no UUID, and the room each one joins.
_ROOMS_BY_TYPE = {
    "allJobs": topics.JOBS,
    "allWorkers": topics.WORKERS,
    "allLastRendered": topics.LAST_RENDERED,
    "allWorkerTags": topics.WORKER_TAGS,
}


def rooms_for_subscription(kind: str, item_uuid: str) -> list[str]:
    """The rooms a subscription joins or leaves; raises ValueError for a bad request."""
    if kind in _ROOMS_BY_TYPE:
        return [_ROOMS_BY_TYPE[kind]]
    if kind not in ("job", "tasklog"):
        raise ValueError(f"unknown subscription type {kind!r}")
    try:
        uuid.UUID(item_uuid)
    except ValueError:
        raise ValueError(f"subscription type {kind!r} needs a valid UUID") from None
    if kind == "job":
        return [topics.job(item_uuid), topics.job_last_rendered(item_uuid)]
    # Upstream joins the job room here by mistake, so task logs never arrive live.
    return [topics.task_log(item_uuid)]


class SocketIOForwarder:
    """Delivers broker events to Socket.IO rooms, coalescing bursts per flush interval."""

    def __init__(self, broker: Broker, *, flush_interval: float = 0.1) -> None:
        self.server = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
        self._coalescer = Coalescer()
        self._flush_interval = flush_interval
        self._wakeup = asyncio.Event()
        self._sent_since_yield = 0
        self.server.on("connect", self._on_connect)
        self.server.on(SUBSCRIPTION_EVENT, self._on_subscription)
        broker.subscribe(self._on_event)

    def attach(self, app: web.Application) -> None:
        self.server.attach(app, socketio_path="socket.io")

    def _on_event(self, event: Event) -> None:
        self._coalescer.add(event)
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            for event in self._coalescer.drain():
                await self._emit(event)
            # Events arriving during the pause are merged into one message each.
            await asyncio.sleep(self._flush_interval)

    async def close(self) -> None:
        """Send what is pending, then disconnect every client so shutdown need not wait."""
        for event in self._coalescer.drain():
            await self._emit(event)
        # Engine.IO disconnects all clients when given no session ID (and fails when
        # there are none).
        if self.server.eio.sockets:
            await self.server.eio.disconnect()
        await self.server.shutdown()

    async def _emit(self, event: Event) -> None:
        """Send one event to its room, encoded once for all recipients.

        python-socketio's own emit starts a task per recipient, which a burst to
        hundreds of web interfaces turns into a storm of tasks; queueing the
        pre-encoded packet on each client's socket costs far less.
        """
        try:
            encoded = self.server.packet_class(
                socketio_packet.EVENT, namespace="/", data=[str(event.kind), event.payload]
            ).encode()
            packets = [
                engineio_packet.Packet(engineio_packet.MESSAGE, part)
                for part in (encoded if isinstance(encoded, list) else [encoded])
            ]
            for _, eio_sid in self.server.manager.get_participants("/", event.topic):
                for packet in packets:
                    await self.server.eio.send_packet(eio_sid, packet)
                self._sent_since_yield += 1
                if self._sent_since_yield >= SENDS_BETWEEN_YIELDS:
                    # Queueing never waits, so give requests a turn during a burst.
                    self._sent_since_yield = 0
                    await asyncio.sleep(0)
        except Exception:
            logger.exception("cannot emit Socket.IO event", extra={"topic": event.topic})

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        for room in DEFAULT_ROOMS:
            await self.server.enter_room(sid, room)

    async def _on_subscription(self, sid: str, message: Any) -> str:
        """Join or leave rooms as the web interface asks; the answer is the acknowledgement."""
        if not isinstance(message, dict):
            return "invalid subscription: expected an object"
        operation = message.get("op")
        if operation not in ("subscribe", "unsubscribe"):
            return f"invalid subscription operation {operation!r}"
        try:
            rooms = rooms_for_subscription(str(message.get("type")), str(message.get("uuid", "")))
        except ValueError as error:
            return f"invalid subscription: {error}"
        for room in rooms:
            if operation == "subscribe":
                await self.server.enter_room(sid, room)
            else:
                await self.server.leave_room(sid, room)
        return "ok"


__all__ = ["EventKind", "SocketIOForwarder", "rooms_for_subscription"]
