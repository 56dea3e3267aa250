"""Per-task log files: appending, size-capped rotation, tails, and live log events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flamenco.clock import Clock
from flamenco.manager.errors import DiskFull, is_disk_full
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.services.local_storage import LocalStorage

logger = logging.getLogger(__name__)

TAIL_BYTES = 2048
ROTATED_FILES_KEPT = 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TaskLogInfo:
    relative_path: str
    size: int


class TaskLogs:
    """Appends to task log files from one background thread, so writes keep their order.

    Writes are grouped: text that arrives while a batch is being written goes into
    the next batch, so a busy farm costs one thread hop per batch, not per line.
    """

    def __init__(
        self,
        storage: LocalStorage,
        broker: Broker,
        clock: Clock,
        *,
        max_bytes: int = 0,
        on_disk_full: Callable[[DiskFull], None] = lambda error: None,
    ) -> None:
        self._storage = storage
        self._broker = broker
        self._clock = clock
        self._max_bytes = max_bytes
        self._on_disk_full = on_disk_full
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-logs")
        self._root = str(storage.root)
        self._pending: dict[str, list[str]] = {}
        self._pending_written: asyncio.Future[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.flush()
        self._executor.shutdown(wait=True)

    def relative_path(self, job_uuid: str, task_uuid: str) -> str:
        return f"{self._storage.job_dir_relative(job_uuid)}/task-{task_uuid}.txt"

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return self._storage.root / self.relative_path(job_uuid, task_uuid)

    def _file_name(self, job_uuid: str, task_uuid: str) -> str:
        # path() as plain text: joining and hashing Path objects cost more than the
        # rest of queueing a line, and every progress report queues one.
        return f"{self._root}/{self.relative_path(job_uuid, task_uuid)}"

    async def write(self, job_uuid: str, task_uuid: str, text: str) -> None:
        """Append log text as sent by a Worker, and broadcast it."""
        if not text:
            return
        if not text.endswith("\n"):
            text += "\n"
        await self._append(self._file_name(job_uuid, task_uuid), text)
        self._broker.publish(events.task_log_updated(task_uuid, text))

    def _append(self, path: str, text: str) -> asyncio.Future[None]:
        """Queue text for the next batch; the future completes once it is on disk, or
        fails with DiskFull when the disk had no room for the batch."""
        self._pending.setdefault(path, []).append(text)
        if self._pending_written is None:
            self._pending_written = asyncio.get_running_loop().create_future()
        if self._writer_task is None or self._writer_task.done():
            self._writer_task = asyncio.create_task(self._write_batches(), name="task-log-writer")
        return self._pending_written

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            written, self._pending_written = self._pending_written, None
            try:
                await self._run(self._append_batch_blocking, batch)
            except DiskFull as error:
                self._on_disk_full(error)
                if written is not None:
                    written.set_exception(error)
                    # Read here, as lines the Manager logs itself are not waited for.
                    written.exception()
            finally:
                if written is not None and not written.done():
                    written.set_result(None)

    async def flush(self) -> None:
        """Wait until everything written so far is on disk, or failed to get there."""
        if self._pending_written is not None:
            with contextlib.suppress(DiskFull):
                await asyncio.shield(self._pending_written)
        if self._writer_task is not None:
            await asyncio.shield(self._writer_task)

    def _append_batch_blocking(self, batch: dict[str, list[str]]) -> None:
        for path, texts in batch.items():
            try:
                self._append_blocking(path, "".join(texts))
            except OSError as error:
                if is_disk_full(error):
                    # Said once per episode by whoever handles DiskFull, not per file.
                    raise DiskFull(
                        f"the task logs in {self._root}", directory=self._storage.root
                    ) from error
                logger.exception("cannot write task log", extra={"path": path})

    def append_timestamped(self, job_uuid: str, task_uuid: str, text: str) -> None:
        """Queue a line written by the Manager itself, prefixed with the local time,
        and broadcast it; it reaches the disk with the next batch."""
        line = f"{self.timestamp()} {text}\n"
        self._append(self._file_name(job_uuid, task_uuid), line)
        self._broker.publish(events.task_log_updated(task_uuid, line))

    def timestamp(self) -> str:
        return self._clock.now().astimezone().isoformat(timespec="seconds")

    async def tail(self, job_uuid: str, task_uuid: str) -> str | None:
        """The last lines of the log, up to TAIL_BYTES; None when there is no log."""
        await self.flush()
        return await self._run(_tail_blocking, self.path(job_uuid, task_uuid))

    async def info(self, job_uuid: str, task_uuid: str) -> TaskLogInfo | None:
        await self.flush()
        size = await self._run(_size_blocking, self.path(job_uuid, task_uuid))
        if not size:
            return None
        return TaskLogInfo(self.relative_path(job_uuid, task_uuid), size)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _append_blocking(self, path: str, text: str) -> None:
        data = text.encode("utf-8", errors="replace")
        try:
            fd = os.open(path, _APPEND_FLAGS, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, _APPEND_FLAGS, 0o666)
        try:
            if self._max_bytes:
                size = os.fstat(fd).st_size
                if size and size + len(data) > self._max_bytes:
                    os.close(fd)
                    fd = -1
                    _rotate_blocking(Path(path))
                    fd = os.open(path, _APPEND_FLAGS, 0o666)
            _write_all(fd, data)
        finally:
            if fd >= 0:
                os.close(fd)


# Appending through plain file descriptors: Python's open() also asks whether the
# file is a terminal, seeks to its end and sets up a buffer, which costs more than
# the write itself, once per task and batch. O_BINARY keeps Windows from
# translating line endings, as open(..., "ab") does.
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _rotate_blocking(path: Path) -> None:
    """Shift log.txt to log.txt.1, .1 to .2 and so on, dropping the oldest."""
    for number in range(ROTATED_FILES_KEPT, 0, -1):
        older = path.with_name(f"{path.name}.{number}")
        if number == ROTATED_FILES_KEPT:
            older.unlink(missing_ok=True)
            continue
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{number + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))


def _size_blocking(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail_blocking(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            start = max(0, size - TAIL_BYTES)
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return None
    if start > 0:
        # Drop the partial first line.
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else b""
    text = data.decode("utf-8", errors="replace")
    return text or None
