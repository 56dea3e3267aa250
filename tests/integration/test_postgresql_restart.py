"""After PostgreSQL restarts, no request fails on a connection that the restart closed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections.abc import Iterator

import pytest

from flamenco.manager.persistence import Connection, workers
from flamenco.manager.persistence.postgresql import (
    CONNECTIONS,
    URGENT_CONNECTIONS,
    PostgresDatabase,
)
from support.cluster import PrivatePostgres

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def count_workers_slowly(conn: Connection) -> int:
    # Held a moment, so that requests at once each take a connection of their own.
    time.sleep(0.2)
    return len(workers.fetch_workers(conn))


@contextlib.contextmanager
def descriptors_in_use(count: int) -> Iterator[None]:
    """`count` more open files, as a Manager with that many Workers connected has."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]
    try:
        yield
    finally:
        for descriptor in opened:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_every_connection_is_made_again_after_a_restart(
    private_postgres: PrivatePostgres,
) -> None:
    # Connections made after a busy Manager's many sockets, past descriptor 1023.
    with descriptors_in_use(1100):
        db = await PostgresDatabase.open(private_postgres.url)
        try:
            await asyncio.gather(*(db.read(count_workers_slowly) for _ in range(CONNECTIONS)))
            await asyncio.gather(
                *(db.write(count_workers_slowly, urgent=True) for _ in range(URGENT_CONNECTIONS))
            )
            # Nothing asks meanwhile: each connection learns of the restart only when used.
            private_postgres.stop()
            private_postgres.start()

            answers = await asyncio.gather(
                *(db.read(count_workers_slowly) for _ in range(2 * CONNECTIONS)),
                *(
                    db.write(count_workers_slowly, urgent=True)
                    for _ in range(2 * URGENT_CONNECTIONS)
                ),
                return_exceptions=True,
            )
            assert answers == [0] * (2 * CONNECTIONS + 2 * URGENT_CONNECTIONS)
        finally:
            await db.close()
