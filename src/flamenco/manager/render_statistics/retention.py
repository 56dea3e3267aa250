"""The farm's duty of forgetting old render statistics, and of closing runs left open."""

from __future__ import annotations

import datetime as dt
import logging

from flamenco.clock import Clock
from flamenco.manager.persistence import Database, render_statistics

logger = logging.getLogger(__name__)

PRUNE_INTERVAL = dt.timedelta(hours=1)
# A run still open this long after it started, whose task is no longer active on its
# Worker, ended without a status change of its own (its job cancelled or deleted).
ABANDONED_AFTER = dt.timedelta(minutes=1)


class StatisticsRetention:
    """Every PRUNE_INTERVAL: close abandoned runs, then delete what is older than `keep`
    (zero keeps statistics forever). Runs on the farm's leader only."""

    def __init__(self, db: Database, clock: Clock, *, keep: dt.timedelta) -> None:
        self._db = db
        self._clock = clock
        self._keep = keep

    async def run(self) -> None:
        while True:
            await self.tidy()
            await self._clock.sleep(PRUNE_INTERVAL.total_seconds())

    async def tidy(self) -> int:
        """One round of tidying; returns how many statistics rows were deleted."""
        now = self._clock.now()
        await self._db.write(
            lambda conn: render_statistics.close_abandoned_task_runs(conn, now - ABANDONED_AFTER)
        )
        if not self._keep:
            return 0
        before = now - self._keep
        deleted = 0
        while True:
            count = await self._db.write(lambda conn: render_statistics.prune_batch(conn, before))
            deleted += count
            if count == 0:
                break
        if deleted:
            logger.info("render statistics pruned", extra={"rows": deleted, "before": before})
        return deleted
