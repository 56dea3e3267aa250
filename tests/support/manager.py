"""A real Manager for tests: create_app() served on a loopback port, with a spec-checking client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from flamenco.manager import config, keys
from flamenco.manager.app import create_app
from support.event_checks import EventChecker
from support.spec_client import SpecCheckedClient


@dataclass
class RunningManager:
    app: web.Application
    server: TestServer
    client: SpecCheckedClient
    events: EventChecker

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")


async def run_manager(
    loaded: config.LoadedConfig, *, port: int | None = None, **options: Any
) -> AsyncIterator[RunningManager]:
    app = await create_app(loaded, **options)
    # Every test Manager doubles as a check that its events match the spec.
    events = EventChecker()
    app[keys.BROKER].subscribe(events)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        client = SpecCheckedClient(session, str(server.make_url("/")))
        try:
            yield RunningManager(app, server, client, events)
        finally:
            await server.close()
    events.assert_valid()
