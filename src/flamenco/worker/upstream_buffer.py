"""Task updates that could not reach the Manager, kept in SQLite and sent later in their order."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from flamenco.api import wire
from flamenco.clock import Clock
from flamenco.worker.client import Answer, ManagerError, ManagerUnreachable, TaskReassigned

logger = logging.getLogger(__name__)

# Upstream flushes every 30 s. While updates are waiting we try sooner, backing off
# to the same 30 s, so that a Manager that comes back gets them within seconds.
FLUSH_INTERVAL = 30.0
RETRY_FIRST = 1.0
CLOSE_FLUSH_TIMEOUT = 5.0
# Answers that mean "not now" rather than "no": the Manager's database is away or
# busy (503), or its disk is full (507). Upstream's Worker drops such an update;
# ours keeps it, as when the Manager cannot be reached, so no status change is lost.
TRY_AGAIN_LATER = frozenset({503, 507})

SCHEMA = """
CREATE TABLE IF NOT EXISTS task_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    task_id TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


class TaskUpdateSender(Protocol):
    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer: ...


class UpstreamBuffer:
    """Sends task updates directly when it can, and queues them when the Manager is away.

    Once anything is queued, later updates queue behind it, so the Manager always
    receives a task's updates in the order they were made.
    """

    def __init__(self, sender: TaskUpdateSender, clock: Clock, path: Path) -> None:
        self._sender = sender
        self._clock = clock
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._queued = 0
        self._wake = asyncio.Event()

    @property
    def queued(self) -> int:
        """How many updates wait in the queue."""
        return self._queued

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self._path)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA busy_timeout=5000")
            async with db.execute("PRAGMA integrity_check") as cursor:
                row = await cursor.fetchone()
            if row is None or row[0] != "ok":
                raise RuntimeError(f"integrity check of {self._path} failed: {row}")
            await db.executescript(SCHEMA)
            await db.commit()
            async with db.execute("SELECT COUNT(*) FROM task_updates") as cursor:
                count_row = await cursor.fetchone()
        except BaseException:
            await db.close()
            raise
        self._db = db
        self._queued = int(count_row[0]) if count_row else 0
        if self._queued:
            logger.info("task updates queued from a previous run", extra={"queued": self._queued})

    async def close(self) -> None:
        """One last flush, bounded in time, then release the database."""
        if self._db is None:
            return
        try:
            async with asyncio.timeout(CLOSE_FLUSH_TIMEOUT):
                await self.flush()
        except TimeoutError:
            logger.warning("final flush of queued task updates timed out")
        if self._queued:
            logger.warning(
                "task updates stay queued until the next start", extra={"queued": self._queued}
            )
        await self._db.close()
        self._db = None

    async def send(self, task_id: str, update: dict[str, Any]) -> None:
        """Deliver or queue one update.

        Raises TaskReassigned when the Manager answers 409, and ManagerError for
        other refusals; neither is queued, as sending it again would not help.
        """
        async with self._lock:
            if self._queued:
                await self._queue(task_id, update)
                return
            try:
                answer = await self._sender.task_update(task_id, update)
            except ManagerUnreachable as error:
                logger.warning(
                    "Manager unreachable, queueing task update",
                    extra={"task": task_id, "error": str(error)},
                )
                await self._queue(task_id, update)
                return
            if answer.status in TRY_AGAIN_LATER:
                logger.warning(
                    "Manager cannot take the task update now, queueing it",
                    extra={"task": task_id, "status": answer.status, "error": answer.message},
                )
                await self._queue(task_id, update)
                return
        if answer.status == 204:
            return
        if answer.status == 409:
            raise TaskReassigned(answer.message or f"task {task_id} is assigned elsewhere")
        raise ManagerError("taskUpdate", answer.status, answer.message)

    async def _queue(self, task_id: str, update: dict[str, Any]) -> None:
        db = self._require_db()
        await db.execute(
            "INSERT INTO task_updates (created_at, task_id, payload) VALUES (?, ?, ?)",
            (wire.format_time(self._clock.now()), task_id, json.dumps(update)),
        )
        await db.commit()
        self._queued += 1
        if self._queued == 1:
            self._wake.set()

    async def flush(self) -> bool:
        """Send queued updates oldest first; True when the queue is empty afterwards."""
        db = self._require_db()
        while self._queued:
            async with self._lock:
                async with db.execute(
                    "SELECT id, task_id, payload FROM task_updates ORDER BY id LIMIT 1"
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    self._queued = 0
                    break
                item_id, task_id, payload = int(row[0]), str(row[1]), str(row[2])
                try:
                    update = json.loads(payload)
                except ValueError:
                    logger.warning(
                        "discarding unreadable queued task update", extra={"id": item_id}
                    )
                else:
                    try:
                        answer = await self._sender.task_update(task_id, update)
                    except ManagerUnreachable as error:
                        logger.info("Manager still unreachable", extra={"error": str(error)})
                        return False
                    if answer.status in TRY_AGAIN_LATER:
                        logger.info(
                            "Manager still cannot take task updates",
                            extra={"status": answer.status, "error": answer.message},
                        )
                        return False
                    self._log_flush_answer(task_id, answer)
                await db.execute("DELETE FROM task_updates WHERE id = ?", (item_id,))
                await db.commit()
                self._queued -= 1
        return True

    def _log_flush_answer(self, task_id: str, answer: Answer) -> None:
        # Whatever the Manager answers, sending the same update again would not change it.
        if answer.status == 204:
            logger.debug("queued task update delivered", extra={"task": task_id})
        elif answer.status == 409:
            logger.warning(
                "queued task update discarded, task was reassigned", extra={"task": task_id}
            )
        else:
            logger.warning(
                "queued task update refused by Manager",
                extra={"task": task_id, "status": answer.status, "error": answer.message},
            )

    async def run(self) -> None:
        """Flush periodically, and soon after something got queued, until cancelled."""
        retry = RETRY_FIRST
        while True:
            if self._queued:
                await self._clock.sleep(retry)
            else:
                await self._sleep_or_wake(FLUSH_INTERVAL)
                if not self.queued:
                    continue
                # Give a Manager that just went away a moment before the first retry.
                await self._clock.sleep(retry)
            try:
                emptied = await self.flush()
            except aiosqlite.Error:
                logger.exception("error flushing queued task updates")
                emptied = False
            retry = RETRY_FIRST if emptied else min(retry * 2, FLUSH_INTERVAL)

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    def _require_db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the upstream buffer is not open")
        return self._db
