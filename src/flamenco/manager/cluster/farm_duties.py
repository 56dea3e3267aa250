"""The farm's duties (timeouts, sleep schedules, deletion, ...) run in one process of the farm.

On SQLite there is one process, which always leads. On PostgreSQL every process
tries to take an advisory lock; the one that has it runs the duties, and when
it dies, the server releases the lock and the next process to try takes over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# How often a follower tries to take the lead: the longest a farm goes without
# its duties after its leading process died, apart from the server noticing.
TAKEOVER_INTERVAL_SECONDS = 2.0
# How often the leader checks that its lock's connection still works.
HOLD_CHECK_INTERVAL_SECONDS = 2.0

Duty = Callable[[], Coroutine[Any, Any, None]]


class Lock(Protocol):
    def try_acquire_blocking(self) -> bool: ...

    def still_held_blocking(self) -> bool: ...

    def release_blocking(self) -> None: ...


class FarmDuties:
    """Runs `duties` while this process leads the farm; `lock` None means always."""

    def __init__(
        self,
        duties: dict[str, Duty],
        *,
        lock: Lock | None,
        on_lead: Callable[[], Awaitable[None]],
    ) -> None:
        self._duties = duties
        self._lock = lock
        self._on_lead = on_lead
        self._leading_at_start = False
        self.is_leader = False

    async def try_to_lead(self) -> bool:
        """Take the lead now if nobody has it; then run() starts the duties at once."""
        if self._lock is None:
            return True
        self._leading_at_start = await asyncio.to_thread(self._lock.try_acquire_blocking)
        return self._leading_at_start

    async def run(self) -> None:
        if self._lock is None:
            await self._lead(lambda: asyncio.Event().wait())
            return
        lock = self._lock
        acquired = self._leading_at_start
        try:
            while True:
                if acquired or await asyncio.to_thread(lock.try_acquire_blocking):
                    logger.warning("this Manager process now runs the farm's duties")
                    await self._lead(lambda: _until_lost(lock))
                    logger.error("this Manager process lost the lead of the farm's duties")
                acquired = False
                await asyncio.sleep(TAKEOVER_INTERVAL_SECONDS)
        finally:
            await asyncio.to_thread(lock.release_blocking)

    async def _lead(self, lead_lost: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run the duties until `lead_lost` returns; a duty that fails fails this too."""
        self.is_leader = True
        watcher = asyncio.create_task(lead_lost(), name="farm-lead")
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks = [asyncio.create_task(duty(), name=name) for name, duty in self._duties.items()]
            await self._on_lead()
            pending: set[asyncio.Task[Any]] = {watcher, *tasks}
            while watcher in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not watcher and (error := task.exception()) is not None:
                        raise error
        finally:
            for task in (watcher, *tasks):
                task.cancel()
            await asyncio.gather(watcher, *tasks, return_exceptions=True)
            self.is_leader = False


async def _until_lost(lock: Lock) -> None:
    while await asyncio.to_thread(lock.still_held_blocking):
        await asyncio.sleep(HOLD_CHECK_INTERVAL_SECONDS)
