"""A Socket.IO client that stops reading is dropped before its queue eats the Manager's memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flamenco.manager import keys
from flamenco.manager.eventbus import events, topics
from flamenco.manager.eventbus.socketio import MAX_CLIENT_BACKLOG_BYTES
from support.manager import RunningManager
from support.waiting import until

HANDSHAKE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"Host: manager\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
LOG_CHUNK_BYTES = 2 * 1024 * 1024
# Several times the most a client may have queued: without the bound, nearly all
# of it would wait in the Manager for a client that never takes it.
LOG_BYTES = 6 * MAX_CLIENT_BACKLOG_BYTES


def text_frame(text: str) -> bytes:
    """A masked WebSocket text frame, as a client must send (a zero mask keeps it readable)."""
    payload = text.encode()
    if len(payload) < 126:
        header = struct.pack("!BB", 0x81, 0x80 | len(payload))
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
    return header + b"\0\0\0\0" + payload


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.asynccontextmanager
async def silent_client(manager: RunningManager, task_uuid: str) -> AsyncIterator[Any]:
    """A WebSocket client that follows a task log and keeps answering pings, but never reads.

    Yields the Manager's Engine.IO socket for it, once it has joined the task log's room.
    """
    raw = socket.socket()
    raw.setblocking(False)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert manager.server.port is not None
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", manager.server.port))
    reader, writer = await asyncio.open_connection(sock=raw, limit=4096)
    writer.write(HANDSHAKE)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101 ")
    subscription = {"op": "subscribe", "type": "tasklog", "uuid": task_uuid}
    writer.write(text_frame("40") + text_frame("420" + json.dumps(["/subscription", subscription])))

    async def answer_pings() -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                writer.write(text_frame("3"))
                await writer.drain()
                await asyncio.sleep(0.5)

    answering = asyncio.create_task(answer_pings())
    try:
        forwarder = manager.app[keys.SOCKET_IO]
        room = topics.task_log(task_uuid)
        await until(lambda: bool(list(forwarder.server.manager.get_participants("/", room))))
        (client,) = forwarder.server.eio.sockets.values()
        yield client
    finally:
        answering.cancel()
        writer.close()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # Nothing here touches it.
async def test_client_that_never_reads_is_dropped(
    manager: RunningManager, caplog: pytest.LogCaptureFixture
) -> None:
    forwarder = manager.app[keys.SOCKET_IO]
    task_uuid = str(uuid.uuid4())
    async with silent_client(manager, task_uuid) as client:
        before = resident_bytes()
        with caplog.at_level(logging.WARNING, logger="flamenco.manager.eventbus.socketio"):
            for number in range(LOG_BYTES // LOG_CHUNK_BYTES):
                line = f"line {number} ".ljust(LOG_CHUNK_BYTES - 1, "x") + "\n"
                manager.app[keys.BROKER].publish(events.task_log_updated(task_uuid, line))
                # One chunk per flush, as a Worker streaming a long log.
                await asyncio.sleep(0.12)
            grown = resident_bytes() - before
            assert grown < LOG_BYTES / 2, f"the Manager grew by {grown / 2**20:.0f} MiB"
            await until(lambda: client.sid not in forwarder.server.eio.sockets)
        assert client.queue.queued_bytes == 0, "its queue is freed"
        dropped = [r for r in caplog.records if "does not keep up" in r.getMessage()]
        assert len(dropped) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_client_that_never_reads_does_not_hold_up_shutdown(manager: RunningManager) -> None:
    forwarder = manager.app[keys.SOCKET_IO]
    task_uuid = str(uuid.uuid4())
    async with silent_client(manager, task_uuid) as client:
        line = "x" * (LOG_CHUNK_BYTES - 1) + "\n"
        # More than socket buffers hold, less than gets a client dropped.
        while client.queue.queued_bytes < MAX_CLIENT_BACKLOG_BYTES // 2:
            manager.app[keys.BROKER].publish(events.task_log_updated(task_uuid, line))
            await asyncio.sleep(0.12)
        await asyncio.wait_for(forwarder.close(), timeout=30)
