"""The work notices WebSocket, Worker side: saying when we wait, hearing of waiting work."""

from __future__ import annotations

import asyncio
import json
import logging
import random

import aiohttp

from flamenco.clock import Clock
from flamenco.worker.client import ManagerClient, ManagerUnreachable

logger = logging.getLogger(__name__)

RECONNECT_FIRST = 1.0
RECONNECT_MAX = 30.0
# Each reconnection wait varies by this fraction, so that a thousand Workers
# that lost a restarting Manager do not all come back at the same moment.
RECONNECT_JITTER = 0.25

WAITING_FRAME = json.dumps({"type": "waiting"})
NOT_WAITING_FRAME = json.dumps({"type": "not-waiting"})


class WorkNotices:
    """Keeps one WebSocket open; `wait_for_work()` returns early when the Manager says so.

    Without a connection it is a plain sleep, so the Worker polls as it would with
    an upstream Manager.
    """

    def __init__(
        self, client: ManagerClient, clock: Clock, *, rng: random.Random | None = None
    ) -> None:
        self._client = client
        self._clock = clock
        self._random = rng or random.Random()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._waiting = False
        self._notice = asyncio.Event()
        self._stopping = False
        self.notices_received = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def waiting(self) -> None:
        """The Worker is awake without a task and will wait for work."""
        self._waiting = True
        await self._send(WAITING_FRAME)

    async def not_waiting(self) -> None:
        """The Worker has a task, or leaves the awake state."""
        if self._waiting:
            self._waiting = False
            await self._send(NOT_WAITING_FRAME)

    def forget_notices(self) -> None:
        """Drop notices received so far: the Worker is about to ask for a task anyway.

        A notice is sent after the change it is about was stored, so a question
        sent after the notice arrived sees that change.
        """
        self._notice.clear()

    async def wait_for_work(self, seconds: float) -> bool:
        """Wait until the Manager sends a notice, or `seconds` passed; True for a notice."""
        if not self._notice.is_set():
            noticed = asyncio.ensure_future(self._notice.wait())
            timer = asyncio.ensure_future(self._clock.sleep(seconds))
            try:
                await asyncio.wait({noticed, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                noticed.cancel()
                timer.cancel()
        noticed_work = self._notice.is_set()
        self._notice.clear()
        return noticed_work

    async def _send(self, frame: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return  # Sent on connecting.
        try:
            await ws.send_str(frame)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as error:
            logger.info("work notice socket send failed", extra={"error": str(error)})

    async def close(self) -> None:
        self._stopping = True
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()

    async def run(self) -> None:
        """Connect, read notices, reconnect after drops; until cancelled or closed."""
        delay = RECONNECT_FIRST
        connected_before = False
        while not self._stopping:
            try:
                ws = await self._client.connect_work_notices()
            except ManagerUnreachable as error:
                logger.debug("work notice socket not connected", extra={"error": str(error)})
                await self._clock.sleep(self._jittered(delay))
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            logger.debug("work notice socket connected")
            delay = RECONNECT_FIRST
            self._ws = ws
            if connected_before:
                # Notices may have been missed while disconnected: ask once.
                self._notice.set()
            connected_before = True
            try:
                if self._waiting:
                    await ws.send_str(WAITING_FRAME)
                await self._read(ws)
            except Exception as error:
                # Only a hint channel: whatever breaks it, polling goes on and we reconnect.
                logger.info("work notice socket failed", extra={"error": str(error)})
            finally:
                if self._ws is ws:
                    self._ws = None
                if not ws.closed:
                    await ws.close()
            if not self._stopping:
                logger.info("work notice socket disconnected, reconnecting")
                await self._clock.sleep(self._jittered(delay))
                delay = min(delay * 2, RECONNECT_MAX)

    def _jittered(self, seconds: float) -> float:
        spread = seconds * RECONNECT_JITTER
        return seconds + self._random.uniform(-spread, spread)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.ERROR:
                logger.info("work notice socket error", extra={"error": str(ws.exception())})
                return
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                frame = None
            if isinstance(frame, dict) and frame.get("type") == "work-available":
                self.notices_received += 1
                self._notice.set()
            else:
                logger.warning(
                    "unexpected frame on work notice socket", extra={"frame": message.data[:200]}
                )
