"""A Socket.IO client for tests: records what the Manager sends, per event name."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

EVENT_NAMES = ("/jobs", "/task", "/tasklog", "/workers", "/workertags", "/status", "/lifecycle")


class Listener:
    """A Socket.IO client that records what arrives, per event name.

    A batched listener asks for the web interface's `/batch` messages and records
    the events inside them; it must never get an event on its own.
    """

    def __init__(self, *, batched: bool = False) -> None:
        self.client = socketio.AsyncClient()
        self.batched = batched
        self.received: dict[str, list[Any]] = {}
        self.batches = 0
        self.batch_contents: list[list[tuple[str, Any]]] = []
        self.single_events = 0
        self._arrived = asyncio.Event()
        for name in EVENT_NAMES:
            self.client.on(name, self._record_single(name))
        self.client.on("/batch", self._record_batch)

    async def connect(self, base_url: str) -> None:
        auth = {"batched": True} if self.batched else None
        await self.client.connect(base_url, transports=["websocket"], auth=auth)

    def _record(self, name: str, payload: Any) -> None:
        self.received.setdefault(name, []).append(payload)
        self._arrived.set()

    def _record_single(self, name: str) -> Any:
        async def record(payload: Any) -> None:
            self.single_events += 1
            self._record(name, payload)

        return record

    async def _record_batch(self, events: list[list[Any]]) -> None:
        self.batches += 1
        self.batch_contents.append([(name, payload) for name, payload in events])
        for name, payload in events:
            self._record(name, payload)

    async def subscribe(self, kind: str, uuid: str = "", op: str = "subscribe") -> str:
        answer: str = await self.client.call(
            "/subscription", {"op": op, "type": kind, "uuid": uuid}, timeout=5
        )
        return answer

    async def wait_for(self, name: str, predicate: Any = lambda payload: True) -> Any:
        async with asyncio.timeout(5):
            while True:
                for payload in self.received.get(name, []):
                    if predicate(payload):
                        return payload
                self._arrived.clear()
                await self._arrived.wait()
