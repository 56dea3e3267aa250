"""Hostile connections: silent, half-sent or too many, against a real Manager process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from support.manager_process import ManagerProcess
from support.waiting import until

pytestmark = pytest.mark.slow

HALF_A_HEADER = b"GET /api/v3/version HTTP/1.1\r\nHost: manager\r\nUser-Agent: slo"
# Generous: the Manager closes within a second or two; a loaded machine may lag.
DEADLINE = 40.0

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **settings: object) -> AsyncIterator[ManagerProcess]:
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared", **settings)
    await manager.start()
    try:
        yield manager
    finally:
        await manager.stop()


async def open_connections(manager: ManagerProcess, count: int) -> list[Connection]:
    return [await asyncio.open_connection("127.0.0.1", manager.port) for _ in range(count)]


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the Manager sends until it closes the connection."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(4096):
            received += chunk
    return received


def close_all(connections: list[Connection]) -> None:
    for _, writer in connections:
        writer.close()


async def still_serves(manager: ManagerProcess) -> bool:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(manager.base_url + "/api/v3/version") as reply:
                return reply.status == 200
        except aiohttp.ClientError:
            return False


async def test_silent_and_half_sent_headers_are_closed(tmp_path: Path) -> None:
    async with running(tmp_path, http_header_timeout="1s") as manager:
        connections = await open_connections(manager, 60)
        for _, writer in connections[::2]:
            writer.write(HALF_A_HEADER)
        try:
            closing = asyncio.gather(*(read_until_closed(reader) for reader, _ in connections))
            # Meanwhile, everyone else is served.
            assert await still_serves(manager)
            received = await asyncio.wait_for(closing, DEADLINE)
        finally:
            close_all(connections)
        assert set(received) == {b""}, "a late header gets no answer, only a closed connection"
        assert await still_serves(manager)


async def test_idle_keep_alive_connection_is_closed(tmp_path: Path) -> None:
    async with running(tmp_path, http_idle_timeout="1s") as manager:
        reader, writer = await asyncio.open_connection("127.0.0.1", manager.port)
        try:
            writer.write(b"GET /api/v3/version HTTP/1.1\r\nHost: manager\r\n\r\n")
            received = await asyncio.wait_for(read_until_closed(reader), DEADLINE)
        finally:
            writer.close()
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Connection: close" not in received, "kept alive, then closed when idle"


async def test_connections_over_the_cap_are_refused_with_one_log_line(tmp_path: Path) -> None:
    cap, extra = 20, 30
    async with running(tmp_path, http_max_connections=cap) as manager:
        held = await open_connections(manager, cap)
        refused = await open_connections(manager, extra)
        try:
            answers = await asyncio.wait_for(
                asyncio.gather(*(read_until_closed(reader) for reader, _ in refused)), DEADLINE
            )
            assert all(answer.startswith(b"HTTP/1.1 503 ") for answer in answers)
            assert manager.log().count("too many open connections") == 1
        finally:
            close_all(held)
            close_all(refused)
        await until(lambda: "accepting connections again, after refusing 30" in manager.log())
        assert await still_serves(manager)


async def test_open_file_limit_is_raised_and_never_exhausted(tmp_path: Path) -> None:
    """With a small limit, descriptors run out before the cap unless the cap follows them."""
    async with contextlib.AsyncExitStack() as stack:
        manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
        await manager.start(open_file_limits=(200, 400))
        stack.push_async_callback(manager.stop)
        assert manager.process is not None
        limits = Path(f"/proc/{manager.process.pid}/limits").read_text(encoding="utf-8")
        assert any(
            line.startswith("Max open files") and line.split()[3:5] == ["400", "400"]
            for line in limits.splitlines()
        )
        assert "open file limit: 400" in manager.log()
        connections = await open_connections(manager, 400)
        stack.callback(close_all, connections)
        await until(lambda: "too many open connections" in manager.log(), timeout=DEADLINE)
        close_all(connections)
        await until(lambda: still_serves(manager), timeout=DEADLINE)
        log = manager.log()
        assert "out of system resource" not in log
        assert "Too many open files" not in log
