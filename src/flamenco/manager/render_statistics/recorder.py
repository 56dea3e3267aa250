"""Reads rendered frames out of the task logs that Workers send, and stores them in batches.

Parsing happens on the Manager, from the log text of taskUpdate (and the log
stream), so it works for every Worker, upstream's Go Workers included. Each
update costs a substring check, and a regular expression pass when the text
looks like Blender's; frames go to the database in one transaction every
FLUSH_SECONDS, never one per log line. Frames parsed but not yet stored are
lost if the process dies: statistics, not the farm's state.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from flamenco.clock import Clock
from flamenco.manager.persistence import Database, render_statistics
from flamenco.manager.persistence.render_statistics import NewFrame
from flamenco.manager.render_statistics.blender_log import FrameLogParser

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0
# Tasks followed at once; beyond it the one silent longest is forgotten (a task whose
# Worker vanished never says it is done).
MAX_TASKS_FOLLOWED = 10_000
# Frames kept while the database is away; beyond it the oldest are dropped.
MAX_PENDING_FRAMES = 100_000


class FrameRecorder:
    """Follows each active task's log and stores the frames it reports."""

    def __init__(self, db: Database, clock: Clock, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._db = db
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._parsers: OrderedDict[str, FrameLogParser] = OrderedDict()
        self._pending: list[NewFrame] = []
        self._flushing = asyncio.Lock()

    def observe_log(
        self, job_uuid: str, task_uuid: str, worker_uuid: str, text: str, *, task_ended: bool
    ) -> None:
        """Read one piece of a task's log; `task_ended` when the Worker also reported the
        task's end, so that its parser can go."""
        parser = self._parsers.get(task_uuid)
        if parser is None:
            parser = self._parsers[task_uuid] = FrameLogParser()
            if len(self._parsers) > MAX_TASKS_FOLLOWED:
                self._parsers.popitem(last=False)
        else:
            self._parsers.move_to_end(task_uuid)
        frames = parser.feed(text) if text else []
        if task_ended:
            del self._parsers[task_uuid]
        if not frames:
            return
        now = self._clock.now()
        for frame in frames:
            self._pending.append(
                NewFrame(
                    recorded_at=now,
                    job_uuid=job_uuid,
                    task_uuid=task_uuid,
                    worker_uuid=worker_uuid,
                    frame=frame.frame,
                    render_seconds=frame.render_seconds,
                    saving_seconds=frame.saving_seconds,
                    peak_memory_bytes=frame.peak_memory_bytes,
                )
            )
        if len(self._pending) > MAX_PENDING_FRAMES:
            del self._pending[: len(self._pending) - MAX_PENDING_FRAMES]

    def task_ended(self, task_uuid: str) -> None:
        self._parsers.pop(task_uuid, None)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Store every frame read so far, in one transaction."""
        async with self._flushing:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await self._db.write(lambda conn: render_statistics.save_frames(conn, batch))
            except BaseException:
                # Kept for the next try; the service restarts after an outage.
                self._pending[:0] = batch
                raise

    async def run(self) -> None:
        """Store frames every few seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._flush_seconds)
                await self.flush()
        finally:
            if self._pending:
                try:
                    await asyncio.shield(self.flush())
                except Exception:
                    logger.exception("render statistics lost at shutdown")
