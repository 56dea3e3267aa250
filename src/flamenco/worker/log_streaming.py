"""The log streaming WebSocket to our Manager: numbered chunks, acknowledgements, resending."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from flamenco.clock import Clock
from flamenco.worker.client import ManagerClient, ManagerUnreachable

logger = logging.getLogger(__name__)

RECONNECT_FIRST = 1.0
RECONNECT_MAX = 30.0


@dataclass(frozen=True, slots=True)
class Chunk:
    seq: int
    task_id: str
    text: str


class LogStream:
    """Keeps one WebSocket open and sends log chunks over it.

    A chunk stays "unacknowledged" until the Manager confirms it. When the socket
    drops, unacknowledged chunks are "returned", in order, for the caller to send
    another way; the caller must deliver returned chunks before anything newer.
    """

    def __init__(
        self, client: ManagerClient, clock: Clock, *, on_change: Callable[[], None]
    ) -> None:
        self._client = client
        self._clock = clock
        self._on_change = on_change
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_seq = 1
        self._unacked: dict[int, Chunk] = {}
        self._returned: list[Chunk] = []
        self._all_acked = asyncio.Event()
        self._all_acked.set()
        self._stopping = False
        self._closing: asyncio.Future[bool] | None = None

    @property
    def usable(self) -> bool:
        return self._ws is not None and not self._ws.closed and not self._returned

    @property
    def unacknowledged(self) -> int:
        return len(self._unacked)

    @property
    def has_returned(self) -> bool:
        return bool(self._returned)

    def take_returned(self) -> list[Chunk]:
        returned, self._returned = self._returned, []
        return returned

    async def send(self, task_id: str, text: str) -> bool:
        """Send a chunk; False when the socket is not usable and nothing was sent.

        True means the chunk is now either acknowledged later, or returned.
        """
        ws = self._ws
        if ws is None or ws.closed or self._returned:
            return False
        chunk = Chunk(self._next_seq, task_id, text)
        self._next_seq += 1
        self._unacked[chunk.seq] = chunk
        self._all_acked.clear()
        try:
            await ws.send_str(json.dumps({"seq": chunk.seq, "task_id": task_id, "log": text}))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as error:
            logger.info("log stream send failed", extra={"error": str(error)})
            self._drop(ws)
        return True

    async def wait_acknowledged(self, timeout: float) -> bool:
        """Wait until the Manager confirmed every chunk sent; False on timeout."""
        if not self._unacked:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._all_acked.wait()
        except TimeoutError:
            return False
        return True

    def give_up_waiting(self) -> None:
        """Treat every unacknowledged chunk as returned, e.g. after waiting too long for acks.

        The Manager may have stored some of them already; sending them again can
        repeat a few lines in the task log, which beats losing them.
        """
        if self._ws is not None:
            ws = self._ws
            self._drop(ws)
            # Closing waits for the Manager's answer; nobody needs to wait for that.
            self._closing = asyncio.ensure_future(ws.close())

    def _drop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if self._ws is ws:
            self._ws = None
        if self._unacked:
            self._returned.extend(self._unacked[seq] for seq in sorted(self._unacked))
            self._unacked.clear()
        self._all_acked.set()
        self._on_change()

    async def close(self) -> None:
        self._stopping = True
        if self._ws is not None:
            ws = self._ws
            self._drop(ws)
            await ws.close()

    async def run(self) -> None:
        """Connect, read acknowledgements, reconnect after drops; until cancelled."""
        delay = RECONNECT_FIRST
        while not self._stopping:
            try:
                ws = await self._client.connect_log_stream()
            except ManagerUnreachable as error:
                logger.debug("log stream not connected", extra={"error": str(error)})
                await self._clock.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            logger.debug("log stream connected")
            delay = RECONNECT_FIRST
            self._ws = ws
            self._on_change()
            try:
                await self._read(ws)
            finally:
                self._drop(ws)
                if not ws.closed:
                    await ws.close()
            if not self._stopping:
                logger.info("log stream disconnected, reconnecting")
                await self._clock.sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                if message.type == aiohttp.WSMsgType.ERROR:
                    logger.info("log stream error", extra={"error": str(ws.exception())})
                    return
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                logger.warning(
                    "unreadable frame on log stream", extra={"frame": message.data[:200]}
                )
                continue
            self._handle_frame(frame)

    def _handle_frame(self, frame: object) -> None:
        if not isinstance(frame, dict):
            return
        if isinstance(frame.get("ack"), int):
            self._unacked.pop(frame["ack"], None)
        elif isinstance(frame.get("seq"), int) and isinstance(frame.get("error"), dict):
            chunk = self._unacked.pop(frame["seq"], None)
            error = frame["error"]
            # Like a refused taskUpdate: sending it again would be refused again.
            logger.warning(
                "Manager refused log chunk",
                extra={
                    "task": chunk.task_id if chunk else "?",
                    "code": error.get("code"),
                    "error": error.get("message"),
                },
            )
        if not self._unacked:
            self._all_acked.set()
