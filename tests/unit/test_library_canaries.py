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
