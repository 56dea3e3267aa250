"""Waiting in tests for something that happens elsewhere (another process, a server)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from support.spec_client import SpecCheckedClient


async def until(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 20.0, interval: float = 0.1
) -> None:
    """Wait until `check()` (plain or async) is true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never came true")
        await asyncio.sleep(interval)


async def farm_status_when(
    client: SpecCheckedClient, predicate: Callable[[dict[str, Any]], Any], timeout: float = 20.0
) -> dict[str, Any]:
    """The farm status report, once `predicate` holds for it; TimeoutError after `timeout`."""
    async with asyncio.timeout(timeout):
        while True:
            report: dict[str, Any] = (await client.get("/api/v3/status", expect=200)).json()
            if predicate(report):
                return report
            await asyncio.sleep(0.05)
