"""Socket.IO: the web interface's live feed, with upstream's rooms and subscription messages."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as engineio_packet
from socketio import packet as socketio_packet

from flamenco.manager.eventbus import topics
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.coalescer import Coalescer
from flamenco.manager.metrics.recorder import NO_METRICS, Recorder

logger = logging.getLogger(__name__)

SUBSCRIPTION_EVENT = "/subscription"
# Extension: clients that connect with `auth: {"batched": true}` get each flush's
# events as one message, `/batch` with a list of [event name, payload] pairs.
BATCH_EVENT = "/batch"
# Keeps one message of a mass update (10,000 task events) to a few hundred kB.
MAX_EVENTS_PER_BATCH = 1000
# How many client sends a burst may make before HTTP requests get the event loop.
SENDS_BETWEEN_YIELDS = 20
# What one message to one client costs the event loop, queueing and writing it
# (measured: 40-50 µs), and the share of the loop that fan-out may take. With
# many clients, flushes come further apart, so that 500 web interfaces cannot
# starve Workers' requests; at most a second apart.
EVENT_LOOP_SECONDS_PER_SEND = 50e-6
FAN_OUT_SHARE = 0.1
MAX_FLUSH_INTERVAL = 1.0
# How much may wait in one client's queue before it is dropped: a client that
# does not read (but answers pings) would otherwise hold every message it is
# sent. Twice a mass update of 10,000 tasks to a client that takes no batches.
MAX_CLIENT_BACKLOG_BYTES = 8 * 1024 * 1024
# How long shutting down waits for clients to take their last messages.
CLOSE_TIMEOUT_SECONDS = 2.0

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


def pause_after_flush(sends: int, flush_interval: float) -> float:
    """How long to collect events after a flush that sent `sends` messages."""
    busy = sends * EVENT_LOOP_SECONDS_PER_SEND
    return min(MAX_FLUSH_INTERVAL, max(flush_interval, busy / FAN_OUT_SHARE))


def batches_by_recipients(
    events: list[Event], participants: dict[str, list[str]]
) -> dict[tuple[int, ...], list[str]]:
    """Which events each batched client gets: event indices -> the clients getting them.

    `participants` maps a room to the clients in it. Clients in the same rooms get
    the same batch, so each distinct batch is encoded once.
    """
    indices_by_client: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        for client in participants.get(event.topic, ()):
            indices_by_client.setdefault(client, []).append(index)
    recipients: dict[tuple[int, ...], list[str]] = {}
    for client, indices in indices_by_client.items():
        recipients.setdefault(tuple(indices), []).append(client)
    return recipients


class MeasuredQueue(asyncio.Queue[Any]):
    """One client's outgoing Engine.IO packets, counting the bytes they hold."""

    def __init__(self) -> None:
        super().__init__()
        self.queued_bytes = 0

    def _put(self, item: Any) -> None:
        super()._put(item)
        self.queued_bytes += _packet_size(item)

    def _get(self) -> Any:
        item = super()._get()
        self.queued_bytes -= _packet_size(item)
        return item

    def discard(self) -> None:
        """Free what waits, and end the client's writer (Engine.IO's None)."""
        while not self.empty():
            self.get_nowait()
            self.task_done()
        self.put_nowait(None)


def _packet_size(item: Any) -> int:
    data = getattr(item, "data", None)
    return len(data) if isinstance(data, str | bytes) else 0


class SocketIOForwarder:
    """Delivers broker events to Socket.IO rooms, coalescing bursts per flush interval."""

    def __init__(
        self, broker: Broker, *, flush_interval: float = 0.1, metrics: Recorder = NO_METRICS
    ) -> None:
        self._metrics = metrics
        # When the oldest event not yet sent reached this forwarder (for the fan-out lag).
        self._pending_since: float | None = None
        self.server = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
        # Engine.IO makes each client's queue with this (tests/unit/test_library_canaries.py).
        self.server.eio.create_queue = MeasuredQueue
        self._coalescer = Coalescer()
        self._flush_interval = flush_interval
        self._wakeup = asyncio.Event()
        self._sent_since_yield = 0
        self._sent_this_flush = 0
        self._closed = False
        # Socket.IO session IDs of the clients that asked for batches.
        self._batched: set[str] = set()
        # The connections of clients that came straight over WebSocket, with their
        # Engine.IO session IDs, so that a dropped one is really gone. (Clients that
        # start with long polling upgrade on another connection, which Engine.IO keeps
        # to itself; dropped, they keep only that connection until they leave.)
        self._websockets: dict[str, tuple[str, asyncio.Transport]] = {}
        # Whether a client may connect, given its WSGI-style environ and Socket.IO `auth`.
        self.authorize: Callable[[dict[str, Any], Any], Awaitable[bool]] | None = None
        self.server.on("connect", self._on_connect)
        self.server.on("disconnect", self._on_disconnect)
        self.server.on(SUBSCRIPTION_EVENT, self._on_subscription)
        broker.subscribe(self._on_event)

    def attach(self, app: web.Application) -> None:
        self.server.attach(app, socketio_path="socket.io")

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.WORK_AVAILABLE:
            return  # Internal: for the Workers' notice sockets only.
        if not self.server.eio.sockets:
            # No web interface is connected to this process, so there is nobody to
            # tell; one that connects later loads the current state over REST.
            return
        self._coalescer.add(event)
        if self._pending_since is None:
            self._pending_since = time.perf_counter()
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            sends = await self._flush()
            # Events arriving during the pause are merged into one message each.
            await asyncio.sleep(pause_after_flush(sends, self._flush_interval))

    async def close(self) -> None:
        """Send what is pending, then disconnect every client so shutdown need not wait."""
        if self._closed:
            return  # Engine.IO's shutdown fails the second time.
        self._closed = True
        await self._flush()
        # Engine.IO disconnects all clients when given no session ID (and fails when
        # there are none). It waits for each client to take what it was sent, which
        # one that stopped reading never does.
        if self.server.eio.sockets:
            try:
                await asyncio.wait_for(self.server.eio.disconnect(), CLOSE_TIMEOUT_SECONDS)
            except TimeoutError:
                logger.warning("Socket.IO clients that do not read were left behind")
        await self.server.shutdown()

    async def _flush(self) -> int:
        """Send what the coalescer holds; return how many client messages that took."""
        self._sent_this_flush = 0
        events = self._coalescer.drain()
        pending_since, self._pending_since = self._pending_since, None
        if not events:
            return 0
        batched, single = self._participants({event.topic for event in events})
        try:
            await self._send_batches(events, batched)
        except Exception:
            logger.exception("cannot send Socket.IO batches")
        for event in events:
            if recipients := single[event.topic]:
                await self._emit(event, recipients)
        if pending_since is not None:
            self._metrics.socketio_fanout(time.perf_counter() - pending_since)
        return self._sent_this_flush

    def _participants(self, topics: set[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Per room, the Engine.IO sessions of clients that take batches, and of the rest."""
        batched: dict[str, list[str]] = {}
        single: dict[str, list[str]] = {}
        for topic in topics:
            batched[topic], single[topic] = [], []
            for sid, eio_sid in self.server.manager.get_participants("/", topic):
                (batched if sid in self._batched else single)[topic].append(eio_sid)
        return batched, single

    async def _send_batches(self, events: list[Event], participants: dict[str, list[str]]) -> None:
        """Send each batched client the flush's events of its rooms, one message per
        thousand events: a follower of a job that a thousand Workers report on gets a
        message per flush, not a thousand."""
        for indices, recipients in batches_by_recipients(events, participants).items():
            for start in range(0, len(indices), MAX_EVENTS_PER_BATCH):
                pairs = [
                    [str(events[i].kind), events[i].payload]
                    for i in indices[start : start + MAX_EVENTS_PER_BATCH]
                ]
                await self._send_to(recipients, [BATCH_EVENT, pairs])

    async def _emit(self, event: Event, recipients: list[str]) -> None:
        """Send one event to the clients that take events one by one."""
        try:
            await self._send_to(recipients, [str(event.kind), event.payload])
        except Exception:
            logger.exception("cannot emit Socket.IO event", extra={"topic": event.topic})

    async def _send_to(self, eio_sids: list[str], data: list[Any]) -> None:
        """Send one Socket.IO event to many clients, encoded once for all of them.

        python-socketio's own emit starts a task per recipient, which a burst to
        hundreds of web interfaces turns into a storm of tasks; queueing the
        pre-encoded packet on each client's socket costs far less.
        """
        encoded = self.server.packet_class(socketio_packet.EVENT, namespace="/", data=data).encode()
        packets = [
            engineio_packet.Packet(engineio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for eio_sid in eio_sids:
            socket = self.server.eio.sockets.get(eio_sid)
            if socket is None or socket.closed:
                continue
            if socket.queue.queued_bytes > MAX_CLIENT_BACKLOG_BYTES:
                await self._drop(eio_sid, socket)
                continue
            for packet in packets:
                await self.server.eio.send_packet(eio_sid, packet)
            self._sent_since_yield += 1
            self._sent_this_flush += 1
            if self._sent_since_yield >= SENDS_BETWEEN_YIELDS:
                # Queueing never waits, so give requests a turn during a burst.
                self._sent_since_yield = 0
                await asyncio.sleep(0)

    async def _drop(self, eio_sid: str, socket: Any) -> None:
        """Disconnect a client that does not take what it is sent, freeing its queue."""
        logger.warning(
            "Socket.IO client does not keep up, disconnecting it",
            extra={"client": eio_sid, "queued_bytes": socket.queue.queued_bytes},
        )
        socket.queue.discard()
        transports = [t for eio, t in self._websockets.values() if eio == eio_sid]
        await socket.close(wait=False, abort=True)
        for transport in transports:
            transport.abort()

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if self.authorize is not None and not await self.authorize(environ, auth):
            raise socketio.exceptions.ConnectionRefusedError(
                "this needs credentials of a viewer: auth {token: ...} or an Authorization header"
            )
        self._metrics.socketio_client_connected()
        if isinstance(auth, dict) and auth.get("batched") is True:
            self._batched.add(sid)
        request = environ.get("aiohttp.request")
        transport = request.transport if request is not None else None
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket" and transport is not None:
            self._websockets[sid] = (self.server.manager.eio_sid_from_sid(sid, "/"), transport)
        for room in DEFAULT_ROOMS:
            await self.server.enter_room(sid, room)

    async def _on_disconnect(self, sid: str, *reason: Any) -> None:
        self._metrics.socketio_client_disconnected()
        self._batched.discard(sid)
        self._websockets.pop(sid, None)

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


__all__ = [
    "EventKind",
    "SocketIOForwarder",
    "batches_by_recipients",
    "pause_after_flush",
    "rooms_for_subscription",
]
