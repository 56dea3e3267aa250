"""After PostgreSQL restarts, no request fails on a connection that the restart closed."""

from __future__ import annotations

import asyncio
import time

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


async def test_every_connection_is_made_again_after_a_restart(
    private_postgres: PrivatePostgres,
) -> None:
    db = await PostgresDatabase.open(private_postgres.url)
    try:
        await asyncio.gather(*(db.read(count_workers_slowly) for _ in range(CONNECTIONS)))
        await asyncio.gather(
            *(db.write(count_workers_slowly, urgent=True) for _ in range(URGENT_CONNECTIONS))
        )
        # Nothing asks meanwhile: every connection learns of the restart only when used.
        private_postgres.stop()
        private_postgres.start()

        answers = await asyncio.gather(
            *(db.read(count_workers_slowly) for _ in range(2 * CONNECTIONS)),
            *(db.write(count_workers_slowly, urgent=True) for _ in range(2 * URGENT_CONNECTIONS)),
            return_exceptions=True,
        )
        assert answers == [0] * (2 * CONNECTIONS + 2 * URGENT_CONNECTIONS)
    finally:
        await db.close()
