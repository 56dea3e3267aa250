"""Connection guard: the cap's size and logging each episode of trouble once."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from flamenco.manager import connections
from flamenco.manager.connections import ConnectionGuard, ConnectionLimits


def test_cap_leaves_descriptors_for_the_manager() -> None:
    assert connections.connection_cap(10_000, None) == 10_000
    assert connections.connection_cap(10_000, 1_048_576) == 10_000
    assert connections.connection_cap(10_000, 1024) == 448
    assert connections.connection_cap(10_000, 64) == connections.MIN_CONNECTIONS


async def test_accept_failures_are_logged_once_per_episode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    guard = ConnectionGuard(ConnectionLimits(), cap=100)
    failure = {
        "message": connections.ACCEPT_FAILED,
        "exception": OSError(errno.EMFILE, "Too many open files"),
    }
    with caplog.at_level(logging.INFO, logger="flamenco.manager.connections"):
        for _ in range(1000):
            guard.handle_loop_exception(loop, failure)
        assert guard.admit()
        guard.handle_loop_exception(loop, failure)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "cannot accept connections: [Errno 24] Too many open files; retrying every second",
        "accepting connections again, after 1000 failed attempts",
        "cannot accept connections: [Errno 24] Too many open files; retrying every second",
    ]


def test_refusals_are_logged_once_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    guard = ConnectionGuard(ConnectionLimits(), cap=20)
    with caplog.at_level(logging.INFO, logger="flamenco.manager.connections"):
        assert all(guard.admit() for _ in range(20))
        assert not any(guard.admit() for _ in range(50))
        guard.release()  # A place is free, but the episode goes on near the cap.
        assert guard.admit()
        assert not guard.admit()
        for _ in range(6):
            guard.release()
    assert [record.getMessage() for record in caplog.records] == [
        "too many open connections: refusing new ones until fewer than 18 are open "
        "(http_max_connections, open file limit)",
        "accepting connections again, after refusing 51",
    ]
