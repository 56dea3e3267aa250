"""A real webhook receiver for tests: an aiohttp server on loopback that records what it gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers `failures` requests with HTTP 503 first, then accepts each with 204.

    With `hang` set, it holds every request open without answering (a receiver
    that is slow or gone), until `hang` is cleared.
    """

    failures: int = 0
    hang: bool = False
    accepted: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    abandoned: list[Received] = field(default_factory=list)
    hanging: int = 0
    url: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.read())
        if self.hang:
            self.hanging += 1
            while self.hang:
                await asyncio.sleep(0.05)
            if request.transport is None or request.transport.is_closing():
                # The sender is gone (killed): nobody hears this answer.
                self.abandoned.append(received)
                return web.Response(status=204)
        if self.failures > 0:
            self.failures -= 1
            self.refused.append(received)
            return web.Response(status=503, text="receiver is down for maintenance")
        self.accepted.append(received)
        return web.Response(status=204)


@asynccontextmanager
async def running_receiver(
    receiver: WebhookReceiver | None = None, *, port: int = 0
) -> AsyncIterator[WebhookReceiver]:
    receiver = receiver or WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{bound}/hook"
    try:
        yield receiver
    finally:
        receiver.hang = False
        await runner.cleanup()
