"""Canaries for the undocumented parts of libraries we call: each fails first, and says why.

setup.cfg bounds these libraries' versions; when a bound is raised, these tests
tell whether the private parts we rely on still behave as we expect.
"""

from __future__ import annotations

import inspect
import sqlite3
import threading

import aiosqlite
import engineio
import socketio
from engineio import packet as engineio_packet

from flamenco.manager.eventbus.socketio import MeasuredQueue


async def test_aiosqlite_runs_a_function_in_its_connection_thread() -> None:
    # persistence.database._run hands a whole transaction to the connection's thread.
    connection = await aiosqlite.connect(":memory:")
    try:
        seen: list[tuple[int, sqlite3.Connection]] = []

        def probe(conn: sqlite3.Connection, value: int) -> int:
            seen.append((threading.get_ident(), conn))
            return value * 2

        result = await connection._execute(probe, connection._conn, 21)  # type: ignore[no-untyped-call]
        assert result == 42
        thread_id, conn = seen[0]
        assert isinstance(conn, sqlite3.Connection)
        assert thread_id != threading.get_ident()
    finally:
        await connection.close()


def test_engineio_server_queues_a_prepared_packet_for_one_client() -> None:
    # eventbus.socketio encodes an event once and queues it on each client's socket.
    send_packet = engineio.AsyncServer.send_packet
    assert list(inspect.signature(send_packet).parameters) == ["self", "sid", "pkt"]
    assert inspect.iscoroutinefunction(send_packet)
    packet = engineio_packet.Packet(engineio_packet.MESSAGE, "42/,x")
    assert packet.encode() == "442/,x"


async def test_socketio_manager_lists_participants_as_sid_and_engineio_sid() -> None:
    # eventbus.socketio looks up each room's clients once per flush.
    server = socketio.AsyncServer(async_mode="aiohttp")
    manager = server.manager
    manager.set_server(server)
    manager.initialize()
    sid = await manager.connect("engineio-sid-1", "/")
    await manager.enter_room(sid, "/", "room")
    assert list(manager.get_participants("/", "room")) == [(sid, "engineio-sid-1")]


def test_engineio_sockets_queue_through_the_servers_create_queue() -> None:
    # eventbus.socketio measures each client's queue by making it (MeasuredQueue),
    # drops a client with close(wait=False, abort=True), and ends its writer with None.
    server = engineio.AsyncServer(async_mode="aiohttp")
    server.create_queue = MeasuredQueue
    client = engineio.async_socket.AsyncSocket(server, "engineio-sid-1")
    assert isinstance(client.queue, MeasuredQueue)
    assert {"wait", "abort"} <= set(inspect.signature(client.close).parameters)
    assert "if packets == [None]:" in inspect.getsource(engineio.async_socket.AsyncSocket.poll)


def test_asyncio_queue_puts_and_gets_through_its_hooks() -> None:
    # MeasuredQueue counts bytes in asyncio.Queue's _put and _get.
    queue = MeasuredQueue()
    queue.put_nowait(engineio_packet.Packet(engineio_packet.MESSAGE, "x" * 100))
    queue.put_nowait(None)
    assert queue.queued_bytes == 100
    queue.discard()
    assert queue.queued_bytes == 0
    assert queue.get_nowait() is None
