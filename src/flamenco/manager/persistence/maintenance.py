"""Keeping the database healthy: periodic integrity checks and WAL checkpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import Callable

from flamenco.manager.persistence import errors, integrity
from flamenco.manager.persistence.database import SQLiteDatabase
from flamenco.manager.persistence.databases import Database
from flamenco.manager.persistence.integrity import IntegrityReport

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


async def run_integrity_checks(
    db: Database, period: dt.timedelta, on_report: Callable[[IntegrityReport], None]
) -> None:
    """Check the database every `period` and hand each report to `on_report`.

    A failed check does not end this loop: the Manager keeps serving, and
    `on_report` decides how loudly to say so. A busy database skips one round.
    """
    if period <= dt.timedelta(0):
        return
    while True:
        await asyncio.sleep(period.total_seconds())
        try:
            report = await db.check_integrity()
        except errors.DatabaseBusy:
            logger.warning("database too busy for its integrity check, trying again later")
            continue
        except (sqlite3.Error, errors.PersistenceError) as error:
            report = integrity.failed_report(f"the check could not run: {error}")
        if report.ok:
            logger.debug("database integrity check passed")
        on_report(report)
