"""Receiving uploads: streaming a body to a temporary file, and concurrent uploads of one file.

Coordination of concurrent uploads of the same file (same checksum and size):

- This process keeps a registry of uploads in flight, by file. A file is
  `uploading` while it has an entry; a client that may defer gets 425 then.
- A client that may not defer uploads alongside the others, each to its own
  temporary file. The first to finish and verify moves its file into the store;
  the file system has the final word (a hard link never replaces a file), so
  exactly one copy lands, and later finishers answer 208.
- The moment one upload lands, the others stop writing and hashing, and read
  the rest of their body without keeping it, then answer 208. They do not drop
  the connection as upstream may: clients that send the whole body before
  reading the answer, like the add-on's urllib3, would see a broken pipe instead
  of a 208.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
from collections.abc import AsyncIterable, Iterator
from pathlib import Path

from flamenco.shaman import errors
from flamenco.shaman.filestore import FileKey, FileStore
from flamenco.shaman.hasher import HashingFile

logger = logging.getLogger(__name__)

# Bytes handed to a worker thread at once: large enough to keep thread hand-offs
# rare, small enough to keep memory flat (at most two batches per upload).
BATCH_BYTES = 1 << 20


class FileStatus(enum.StrEnum):
    """The spec's ShamanFileStatus."""

    UNKNOWN = "unknown"
    UPLOADING = "uploading"
    STORED = "stored"


class StoreOutcome(enum.Enum):
    """How an upload request ended, when it did not fail."""

    STORED = "stored"  # This upload put the file in the store.
    ALREADY_STORED = "already-stored"  # Shaman has the file, from another upload.
    DEFERRED = "deferred"  # Someone else is uploading it; the client may retry later.


@dataclasses.dataclass
class _Flight:
    """The uploads of one file that are in progress."""

    uploads: int = 0
    temp_paths: set[Path] = dataclasses.field(default_factory=set)
    # Set once any upload of this file is in the store.
    landed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    # Finishing uploads move into the store one at a time.
    finishing: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)


class UploadRegistry:
    """Uploads in progress in this process, by file. Used from the event loop only."""

    def __init__(self) -> None:
        self._flights: dict[FileKey, _Flight] = {}

    def is_uploading(self, key: FileKey) -> bool:
        return key in self._flights

    def temp_paths(self) -> frozenset[Path]:
        return frozenset(path for flight in self._flights.values() for path in flight.temp_paths)

    @contextlib.contextmanager
    def track(self, key: FileKey) -> Iterator[_Flight]:
        flight = self._flights.setdefault(key, _Flight())
        flight.uploads += 1
        try:
            yield flight
        finally:
            flight.uploads -= 1
            if flight.uploads == 0:
                del self._flights[key]


async def receive(
    store: FileStore,
    registry: UploadRegistry,
    key: FileKey,
    body: AsyncIterable[bytes],
    *,
    can_defer: bool,
    original_filename: str = "",
) -> StoreOutcome:
    """Store the file `key` from `body`, unless Shaman has it or the upload can wait.

    Raises SizeMismatch or ChecksumMismatch when the body is not the file the
    key names; whatever `body` raises (say, UploadInterrupted) passes through.
    In every case nothing is left behind in `uploading/` or `stored/`.
    """
    details = {
        "checksum": key.sha,
        "filesize": key.size,
        "original_filename": original_filename,
        "can_defer": can_defer,
    }
    if not await asyncio.to_thread(store.touch_stored_blocking, [key]):
        logger.info("shaman: uploaded file already exists", extra=details)
        return StoreOutcome.ALREADY_STORED
    if can_defer and registry.is_uploading(key):
        logger.info("shaman: someone is uploading this file and client can defer", extra=details)
        return StoreOutcome.DEFERRED

    logger.info("shaman: receiving file", extra=details)
    with registry.track(key) as flight:
        fd, temp_path = await _open_temp(store, key)
        flight.temp_paths.add(temp_path)
        target = HashingFile(fd, temp_path)
        try:
            return await _receive_into(store, key, body, target, flight, details)
        except (errors.UploadInterrupted, asyncio.CancelledError) as error:
            # The client went away (the handler is cancelled when the server is set up so).
            reason = getattr(error, "message", "request cancelled")
            logger.info("shaman: upload interrupted", extra={**details, "reason": reason})
            raise
        finally:
            flight.temp_paths.discard(temp_path)
            # Runs to the end in its thread even if this request is cancelled meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, _discard_blocking, store, target)


async def _receive_into(
    store: FileStore,
    key: FileKey,
    body: AsyncIterable[bytes],
    target: HashingFile,
    flight: _Flight,
    details: dict[str, object],
) -> StoreOutcome:
    loop = asyncio.get_running_loop()
    writing: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batch_bytes = 0
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if flight.landed.is_set() or received > key.size:
                continue  # Read to the end without keeping anything, to answer properly.
            batch.append(chunk)
            batch_bytes += len(chunk)
            if batch_bytes >= BATCH_BYTES:
                # One batch in the thread while the loop receives the next one.
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(None, target.write_blocking, batch)
                batch, batch_bytes = [], 0
        if writing is not None:
            await writing
            writing = None
    finally:
        if writing is not None:
            # Failing or cancelled: the error that got us here matters, not this one.
            writing.add_done_callback(_ignore_result)

    if flight.landed.is_set():
        logger.info("shaman: file was completed during someone else's upload", extra=details)
        return StoreOutcome.ALREADY_STORED
    if received != key.size:
        logger.warning(
            "shaman: mismatch between expected and actual size",
            extra={**details, "received_bytes": received},
        )
        raise errors.SizeMismatch(key.size, received)
    if batch:
        await loop.run_in_executor(None, target.write_blocking, batch)
    checksum = await loop.run_in_executor(None, target.finish_blocking)
    if checksum != key.sha:
        logger.warning(
            "shaman: mismatch between expected and actual checksum",
            extra={**details, "received_checksum": checksum},
        )
        raise errors.ChecksumMismatch(key.sha, checksum)

    async with flight.finishing:
        landed = await asyncio.to_thread(store.adopt_blocking, target.path, key)
    flight.landed.set()
    if not landed:
        logger.info("shaman: file was completed during someone else's upload", extra=details)
        return StoreOutcome.ALREADY_STORED
    logger.info("shaman: file stored", extra=details)
    return StoreOutcome.STORED


async def _open_temp(store: FileStore, key: FileKey) -> tuple[int, Path]:
    opening = asyncio.get_running_loop().run_in_executor(None, store.open_temp_blocking, key)
    try:
        return await opening
    except asyncio.CancelledError:
        # The thread carries on and creates the file; remove it once it has.
        opening.add_done_callback(lambda done: _discard_opened(store, done))
        raise


def _discard_opened(store: FileStore, opened: asyncio.Future[tuple[int, Path]]) -> None:
    if opened.cancelled() or opened.exception() is not None:
        return
    fd, path = opened.result()
    target = HashingFile(fd, path)
    asyncio.get_running_loop().run_in_executor(None, _discard_blocking, store, target)


def _discard_blocking(store: FileStore, target: HashingFile) -> None:
    target.close_blocking()
    store.remove_temp_blocking(target.path)


def _ignore_result(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
