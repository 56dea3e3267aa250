"""Shaman, content-addressed storage of job files with per-job checkouts: the Manager's facade."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterable, Sequence

from flamenco.shaman import checkout, errors, gc, uploads
from flamenco.shaman.checkout import Checkouts, FileSpec, FileSpecWithStatus
from flamenco.shaman.config import FIRST_GC_DELAY, ShamanSettings
from flamenco.shaman.filestore import FileKey, FileStore
from flamenco.shaman.gc import GarbageReport
from flamenco.shaman.links import Linker, LinkMode
from flamenco.shaman.uploads import FileStatus, StoreOutcome, UploadRegistry

__all__ = [
    "FileKey",
    "FileSpec",
    "FileSpecWithStatus",
    "FileStatus",
    "GarbageReport",
    "LinkMode",
    "Shaman",
    "ShamanSettings",
    "StoreOutcome",
]

logger = logging.getLogger(__name__)


class Shaman:
    """The file store, the checkouts and the garbage collector, for one shared storage.

    Build it with `await Shaman.open(settings)`. Every method that reaches the
    disk runs it in a worker thread, so the event loop never waits on storage.
    """

    def __init__(self, settings: ShamanSettings, *, linker: Linker | None = None) -> None:
        self.settings = settings
        self.store = FileStore(settings.file_store_path)
        self.checkouts = Checkouts(
            settings.checkout_path, self.store, linker or Linker(settings.link_mode)
        )
        self.uploads = UploadRegistry()
        self._opened_at = time.time()
        self._stop = threading.Event()

    @classmethod
    async def open(cls, settings: ShamanSettings, *, linker: Linker | None = None) -> Shaman:
        shaman = cls(settings, linker=linker)
        await asyncio.to_thread(shaman.prepare_blocking)
        return shaman

    def prepare_blocking(self) -> None:
        """Create the directories, and find out how checkouts can link files here."""
        logger.info(
            "shaman: opening file store",
            extra={"file_store": str(self.store.root), "checkout_path": str(self.checkouts.root)},
        )
        self.store.create_directories_blocking()
        self.checkouts.create_directory_blocking()
        self._probe_links()

    # -- files

    async def file_status(self, key: FileKey) -> FileStatus:
        if await asyncio.to_thread(self.store.is_stored_blocking, key):
            return FileStatus.STORED
        if self.uploads.is_uploading(key):
            return FileStatus.UPLOADING
        return FileStatus.UNKNOWN

    async def store_file(
        self,
        key: FileKey,
        body: AsyncIterable[bytes],
        *,
        can_defer: bool = False,
        original_filename: str = "",
    ) -> StoreOutcome:
        """Receive one file; see `uploads.receive` for what can come of it."""
        return await uploads.receive(
            self.store,
            self.uploads,
            key,
            body,
            can_defer=can_defer,
            original_filename=original_filename,
        )

    # -- checkouts

    async def requirements(self, files: Sequence[FileSpec]) -> list[FileSpecWithStatus]:
        """The listed files that Shaman does not have in full, each with its status."""
        uploading = frozenset(key for key in _keys(files) if self.uploads.is_uploading(key))
        return await asyncio.to_thread(
            checkout.report_requirements_blocking, self.store, files, uploading
        )

    async def checkout(self, checkout_path: str, files: Sequence[FileSpec]) -> str:
        """Build a checkout of stored files; returns the checkout path actually used."""

        checkout.parse_checkout_path(checkout_path)  # The cheap check first.

        def create() -> str:
            return self.checkouts.create_blocking(checkout_path, checkout.plan_checkout(files))

        return await asyncio.to_thread(create)

    async def erase_checkout(self, checkout_id: str) -> None:
        """Remove a job's checkout; for the job deleter, so a missing one is fine.

        An ID that is not a valid checkout path (jobs can be submitted with any
        text there) is refused with a warning, never followed.
        """
        try:
            erased = await asyncio.to_thread(self.checkouts.erase_blocking, checkout_id)
        except errors.InvalidCheckoutPath as error:
            logger.warning(
                "shaman: not erasing invalid checkout path",
                extra={"checkout_id": checkout_id, "reason": error.message},
            )
            return
        if not erased:
            logger.info(
                "shaman: checkout to erase does not exist", extra={"checkout_id": checkout_id}
            )

    # -- garbage collection

    async def collect_garbage(self, *, dry_run: bool = False) -> GarbageReport:
        in_flight = self.uploads.temp_paths()
        return await asyncio.to_thread(
            gc.collect_garbage_blocking,
            self.store,
            self.checkouts.root,
            max_age_seconds=self.settings.gc_max_age.total_seconds(),
            now=time.time(),
            dry_run=dry_run,
            in_flight=in_flight,
            stop=self._stop,
        )

    async def run(self) -> None:
        """Clear uploads abandoned before start-up, then collect garbage every period."""
        try:
            older_than = self._opened_at
            if self.settings.shared_with_other_processes:
                older_than = min(older_than, time.time() - gc.STALE_UPLOAD_SECONDS)
            removed = await asyncio.to_thread(
                gc.remove_temp_files_blocking,
                self.store,
                older_than=older_than,
                in_flight=self.uploads.temp_paths(),
            )
            if removed:
                logger.info(
                    "shaman: removed unfinished uploads of an earlier run", extra={"files": removed}
                )
            period = self.settings.gc_period.total_seconds()
            if period <= 0:
                logger.warning(
                    "shaman: garbage collection disabled, "
                    "set garbageCollect.period > 0 in configuration"
                )
                return
            logger.info("shaman: starting garbage collector", extra={"period_seconds": period})
            delay = min(FIRST_GC_DELAY.total_seconds(), period)
            while True:
                await asyncio.sleep(delay)
                delay = period
                try:
                    await self.collect_garbage()
                except OSError:
                    logger.exception(
                        "shaman: garbage collection failed, will try again next period"
                    )
        finally:
            # A collection still running in its thread stops at its next check.
            self._stop.set()

    def _probe_links(self) -> None:
        """Try the link method on a scratch file, so a fallback shows in the log at start-up."""
        token = secrets.token_hex(4)
        source = self.store.root / f".shaman-link-check-{token}"
        scratch = self.checkouts.root / f".shaman-link-check-{token}"
        try:
            source.write_bytes(b"")
            scratch.mkdir()
            method = self.checkouts.linker.place_blocking(source, scratch / "link")
        except OSError as error:
            logger.error(
                "shaman: checkouts cannot link files on this storage",
                extra={"link_mode": self.checkouts.linker.mode.value, "error": str(error)},
            )
        else:
            logger.info(
                "shaman: checkouts link files",
                extra={"link_mode": self.checkouts.linker.mode.value, "link_method": method.value},
            )
        finally:
            with contextlib.suppress(OSError):
                (scratch / "link").unlink()
            with contextlib.suppress(OSError):
                scratch.rmdir()
            with contextlib.suppress(OSError):
                source.unlink()


def _keys(files: Sequence[FileSpec]) -> set[FileKey]:
    keys = set()
    for spec in files:
        with contextlib.suppress(errors.InvalidFileKey):
            keys.add(FileKey.parse(spec["sha"], spec["size"]))
    return keys
