"""Keeping the database healthy: periodic integrity checks and WAL checkpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from flamenco.manager.persistence.database import SQLiteDatabase
from flamenco.manager.persistence.databases import Database

logger = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 15 * 60.0
# While readers keep the WAL busy, try again sooner so it cannot keep growing.
CHECKPOINT_RETRY_SECONDS = 15.0


async def run_wal_checkpoints(db: SQLiteDatabase) -> None:
    while True:
        caught_up = await db.wal_checkpoint()
        if not caught_up:
            logger.info("WAL checkpoint could not finish, retrying soon")
        await asyncio.sleep(CHECKPOINT_INTERVAL_SECONDS if caught_up else CHECKPOINT_RETRY_SECONDS)


async def run_integrity_checks(db: Database, period: dt.timedelta) -> None:
    """Check the database every `period`; an error ends this task, which stops the Manager."""
    if period <= dt.timedelta(0):
        return
    while True:
        await asyncio.sleep(period.total_seconds())
        await db.check_integrity()
        logger.debug("database integrity check passed")
