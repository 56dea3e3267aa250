"""Uploading the newest rendered image as the task's output; older pending images are dropped."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Protocol

from flamenco.worker.client import Answer, ManagerUnreachable

logger = logging.getLogger(__name__)

JPEG_QUALITY = 85
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
DECODABLE_FORMATS = frozenset({"PNG", "JPEG", "TIFF"})


class OutputSender(Protocol):
    async def task_output_produced(
        self, task_id: str, image: bytes, content_type: str
    ) -> Answer: ...


def load_as_jpeg(path: Path) -> bytes | None:
    """The image as JPEG, or None for files that cannot be (EXR and the like are normal)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        # Without Pillow only images the Manager reads as they are can go.
        if path.suffix.lower() in (".jpg", ".jpeg"):
            return path.read_bytes()
        logger.info(
            "output uploader: Pillow not installed, cannot convert", extra={"image": str(path)}
        )
        return None
    try:
        with Image.open(path) as image:
            if image.format not in DECODABLE_FORMATS:
                logger.info("output uploader: not a format to upload", extra={"image": str(path)})
                return None
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16-bit greyscale: scale down to 8 bits rather than clip.
                converted = image.point(lambda value: value / 256).convert("L")
            else:
                converted = image.convert("RGB")
            output = io.BytesIO()
            converted.save(output, format="JPEG", quality=JPEG_QUALITY)
            return output.getvalue()
    except UnidentifiedImageError:
        logger.info("output uploader: cannot decode image, ignoring it", extra={"image": str(path)})
    except OSError as error:
        logger.warning(
            "output uploader: cannot read image", extra={"image": str(path), "error": str(error)}
        )
    return None


class OutputUploader:
    """Holds at most one waiting image; a newer one replaces it. Never blocks the caller."""

    def __init__(self, sender: OutputSender) -> None:
        self._sender = sender
        self._pending: tuple[str, Path] | None = None
        self._wake = asyncio.Event()

    def offer(self, task_id: str, path: str) -> None:
        if self._pending is not None:
            logger.debug("output uploader: replacing older image", extra={"image": path})
        self._pending = (task_id, Path(path))
        self._wake.set()

    def take(self) -> tuple[str, Path] | None:
        pending, self._pending = self._pending, None
        return pending

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            item = self.take()
            if item is not None:
                await self.upload(*item)

    async def upload(self, task_id: str, path: Path) -> None:
        jpeg = await asyncio.to_thread(load_as_jpeg, path)
        if jpeg is None:
            return
        if len(jpeg) > MAX_UPLOAD_BYTES:
            logger.info("output uploader: image too large to upload", extra={"image": str(path)})
            return
        try:
            answer = await self._sender.task_output_produced(task_id, jpeg, "image/jpeg")
        except ManagerUnreachable as error:
            logger.info("output uploader: Manager unreachable", extra={"error": str(error)})
            return
        if answer.status == 202:
            logger.info("output uploader: Manager accepted our image", extra={"image": str(path)})
        else:
            # A busy Manager (429) or one that does not process images (501) is no reason to stop.
            logger.info(
                "output uploader: Manager did not take our image",
                extra={"image": str(path), "status": answer.status, "error": answer.message},
            )
