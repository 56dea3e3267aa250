"""An upload's temporary file that computes the SHA-256 of everything written to it."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path


class HashingFile:
    """Writes batches of bytes to an open file descriptor while hashing them.

    Batches are written from worker threads, one at a time and in order; hashlib
    and os.write release the GIL on large buffers, so the event loop keeps
    receiving the next batch meanwhile. The lock only guards against `close`
    running while a batch is still being written, as when an upload is cancelled.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self.path = path
        self._fd: int | None = fd
        self._hash = hashlib.sha256()
        self._lock = threading.Lock()
        self.bytes_written = 0

    def write_blocking(self, chunks: Sequence[bytes]) -> None:
        with self._lock:
            if self._fd is None:
                raise ValueError("write to a closed upload file")
            for chunk in chunks:
                self._hash.update(chunk)
                _write_all(self._fd, chunk)
                self.bytes_written += len(chunk)

    def finish_blocking(self) -> str:
        """Close the file; returns the hex SHA-256 of everything written."""
        self.close_blocking()
        return self._hash.hexdigest()

    def close_blocking(self) -> None:
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
