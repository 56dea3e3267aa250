"""Last-rendered images: thumbnails of the newest frame per job, made in a child process."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from flamenco.clock import Clock
from flamenco.manager.errors import DiskFull, disk_full_as
from flamenco.manager.eventbus import events, topics
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.eventbus.payloads import LastRenderedImageInfo
from flamenco.manager.persistence import Database, last_rendered
from flamenco.manager.persistence.errors import JobNotFound
from flamenco.manager.services import thumbnails
from flamenco.manager.services.local_storage import LocalStorage

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 25 * 1024 * 1024
QUEUE_SIZE = 3


class QueueFull(Exception):
    """Images arrive faster than they can be processed."""


@dataclass(frozen=True, slots=True)
class RenderedImage:
    job_uuid: str
    task_uuid: str
    image: bytes


class LastRendered:
    def __init__(
        self,
        *,
        db: Database,
        storage: LocalStorage,
        broker: Broker,
        clock: Clock,
        on_disk_full: Callable[[DiskFull], None] = lambda error: None,
    ) -> None:
        self._db = db
        self._storage = storage
        self._broker = broker
        self._clock = clock
        self._on_disk_full = on_disk_full
        self._queue: asyncio.Queue[RenderedImage] = asyncio.Queue(maxsize=QUEUE_SIZE)

    async def check(self, image: bytes) -> None:
        """Refuse an image that is too large or not an image (ImageRefused: 413 or 415)."""
        await asyncio.to_thread(thumbnails.check_header, image)

    def queue(self, image: RenderedImage) -> None:
        """Accept an image for processing; raises QueueFull when the queue is full."""
        try:
            self._queue.put_nowait(image)
        except asyncio.QueueFull:
            raise QueueFull() from None

    async def run(self) -> None:
        while True:
            image = await self._queue.get()
            try:
                await self.process(image)
            except DiskFull as error:
                # The image is dropped; the next one may fit. Said once per episode.
                self._on_disk_full(error)
            except thumbnails.ThumbnailsFailed as error:
                # A broken image from a Worker: worth a line, not a traceback.
                logger.warning(
                    "cannot make last-rendered thumbnails",
                    extra={"job": image.job_uuid, "error": str(error)},
                )
            except Exception:
                logger.exception(
                    "cannot process last-rendered image", extra={"job": image.job_uuid}
                )

    async def process(self, image: RenderedImage) -> None:
        job_dir = self._storage.job_dir(image.job_uuid)
        root = self._storage.root
        with disk_full_as(f"the last-rendered images in {root}", root):
            await thumbnails.make_thumbnails(image.image, job_dir)
        now = self._clock.now()

        try:
            await self._db.write(lambda conn: last_rendered.save_job(conn, image.job_uuid, now))
        except JobNotFound:
            # Deleted while its image waited in the queue (found by fuzzing): the job
            # deleter may already have removed the directory the thumbnails just went to.
            logger.info(
                "last-rendered image of a deleted job dropped", extra={"job": image.job_uuid}
            )
            await asyncio.to_thread(shutil.rmtree, job_dir, ignore_errors=True)
            return
        thumbnail = self._info(image.job_uuid)
        for topic in (topics.job_last_rendered(image.job_uuid), topics.LAST_RENDERED):
            self._broker.publish(
                events.last_rendered_updated(topic, image.job_uuid, image.task_uuid, thumbnail)
            )

    def _info(self, job_uuid: str) -> LastRenderedImageInfo:
        return {
            "base": self._storage.url_for(self._storage.job_dir_relative(job_uuid)),
            "suffixes": list(thumbnails.SUFFIXES),
        }

    async def info_for_job(self, job_uuid: str) -> LastRenderedImageInfo | None:
        """The spec's JobLastRenderedImageInfo, or None when the job has no image yet."""
        tiny = self._storage.job_dir(job_uuid) / thumbnails.TINY_IMAGE_NAME
        if not await asyncio.to_thread(tiny.exists):
            return None
        return self._info(job_uuid)

    async def info_latest(self) -> LastRenderedImageInfo | None:
        job_uuid = await self._db.read(last_rendered.fetch_job_uuid)
        return None if job_uuid is None else await self.info_for_job(job_uuid)
