"""Ordered delivery of task logs and task updates to the Manager, without blocking the commands."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from flamenco.clock import Clock
from flamenco.worker.client import ManagerError, TaskReassigned
from flamenco.worker.log_chunker import LogChunker
from flamenco.worker.log_streaming import LogStream
from flamenco.worker.upstream_buffer import UpstreamBuffer

logger = logging.getLogger(__name__)

# How long a status update waits for the Manager to confirm the log lines before it.
ACK_TIMEOUT = 10.0


@dataclass(slots=True)
class _Item:
    task_id: str
    log: str | None = None
    update: dict[str, Any] | None = None
    done: asyncio.Future[None] | None = None


class Reporter:
    """One sender for everything a Worker tells the Manager about its tasks.

    Commands hand log lines to `log_lines()` and progress to `step()`, which never
    wait. Status changes go through `update()`, which waits until the Manager has
    it (or it is safely queued). One loop sends everything in the order it was
    made: log text first, then the status change that followed it.
    """

    def __init__(
        self,
        buffer: UpstreamBuffer,
        clock: Clock,
        *,
        stream: LogStream | None = None,
        chunker: LogChunker | None = None,
    ) -> None:
        self._buffer = buffer
        self._clock = clock
        self._stream = stream
        self._chunker = chunker or LogChunker(clock)
        self._chunk_task = ""
        self._queue: deque[_Item] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self) -> None:
        self._wake.set()

    # --- called by commands and the task executor

    def log_lines(self, task_id: str, lines: list[str]) -> None:
        if not lines:
            return
        if task_id != self._chunk_task:
            self._cut()
            self._chunk_task = task_id
        was_empty = self._chunker.empty
        self._chunker.append_lines(lines)
        self._idle.clear()
        # The sender needs to hear about the first line (to start the clock on it)
        # and about a full chunk; lines in between just pile up.
        if was_empty or self._chunker.over_size():
            self._wake.set()

    def log(self, task_id: str, text: str) -> None:
        self.log_lines(task_id, text.splitlines() or [""])

    def step(self, task_id: str, steps_completed: int) -> None:
        """Report progress; errors are only logged, as upstream does."""
        self._enqueue(
            _Item(task_id, update={"activity": "Progress", "steps_completed": steps_completed})
        )

    async def update(self, task_id: str, update: dict[str, Any]) -> None:
        """Send a task update after all log text so far; raises TaskReassigned or ManagerError."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Item(task_id, update=update, done=done))
        await done

    async def drain(self) -> None:
        """Wait until everything handed over so far has been delivered or queued."""
        self._cut()
        self._wake.set()
        await self._idle.wait()

    def _enqueue(self, item: _Item) -> None:
        self._cut()
        self._queue.append(item)
        self._idle.clear()
        self._wake.set()

    def _cut(self) -> None:
        """Move the gathered log text into the queue, keeping its place before newer items."""
        if not self._chunker.empty:
            self._queue.append(_Item(self._chunk_task, log=self._chunker.take()))

    # --- the sender

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            await self._wait_for_work()
            await self._deliver_returned()
            if self._queue:
                await self._deliver(self._queue.popleft())
            elif self._chunker.due():
                self._cut()
            elif self._chunker.empty and not self._queue:
                self._idle.set()

    async def close(self) -> None:
        """Deliver what is left; the upstream buffer queues it when the Manager is away."""
        self._cut()
        while self._queue:
            await self._deliver_returned()
            await self._deliver(self._queue.popleft())
        await self._deliver_returned()
        if self._stream is not None and self._stream.unacknowledged:
            if not await self._stream.wait_acknowledged(ACK_TIMEOUT):
                self._stream.give_up_waiting()
            await self._deliver_returned()
        self._idle.set()

    async def _wait_for_work(self) -> None:
        while True:
            if self._queue or (self._stream is not None and self._stream.has_returned):
                return
            remaining = self._chunker.seconds_until_due()
            if remaining is not None and remaining <= 0:
                return
            if remaining is None and not self._queue:
                self._idle.set()
            self._wake.clear()
            if remaining is None:
                await self._wake.wait()
                continue
            try:
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            except TimeoutError:
                return

    async def _deliver_returned(self) -> None:
        if self._stream is None:
            return
        for chunk in self._stream.take_returned():
            await self._send_buffered(chunk.task_id, {"log": chunk.text})

    async def _deliver(self, item: _Item) -> None:
        if item.log is not None:
            await self._deliver_log(item.task_id, item.log)
            return
        assert item.update is not None
        await self._wait_for_stream_acks()
        try:
            await self._buffer.send(item.task_id, item.update)
        except (TaskReassigned, ManagerError) as error:
            if item.done is not None:
                if not item.done.done():
                    item.done.set_exception(error)
            else:
                logger.warning(
                    "task update refused", extra={"task": item.task_id, "error": str(error)}
                )
            return
        except BaseException as error:
            if item.done is not None and not item.done.done():
                item.done.set_exception(RuntimeError(f"task update not sent: {error!r}"))
            raise
        if item.done is not None and not item.done.done():
            item.done.set_result(None)

    async def _deliver_log(self, task_id: str, text: str) -> None:
        stream = self._stream
        # Logs may only skip the upstream buffer when nothing older is waiting in it.
        if (
            stream is not None
            and stream.usable
            and self._buffer.queued == 0
            and await stream.send(task_id, text)
        ):
            return
        await self._deliver_returned()
        await self._send_buffered(task_id, {"log": text})

    async def _wait_for_stream_acks(self) -> None:
        stream = self._stream
        if stream is None or not stream.unacknowledged:
            await self._deliver_returned()
            return
        if not await stream.wait_acknowledged(ACK_TIMEOUT):
            logger.warning("log stream acknowledgements overdue, resending over HTTP")
            stream.give_up_waiting()
        await self._deliver_returned()

    async def _send_buffered(self, task_id: str, update: dict[str, Any]) -> None:
        try:
            await self._buffer.send(task_id, update)
        except (TaskReassigned, ManagerError) as error:
            logger.warning("task log refused", extra={"task": task_id, "error": str(error)})
