"""Last-rendered thumbnails: the header read in the Manager, the pixels decoded in a child.

A PNG of 500 KB can hold 13,000 x 13,000 pixels, 676 MB once decoded; decoded
in the Manager, it took the process to 1.5 GB, and the allocator kept 800 MB of
that afterwards. So the Manager only reads an image's header, to refuse what is
too large (413) or not an image (415) while the Worker waits for the answer;
the pixels are decoded by `python -m flamenco.manager.services.thumbnails` in a
process of its own, whose memory is limited and goes back to the system when it
exits. This module imports little beyond Pillow, so that child starts quickly.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from flamenco.manager.errors import RequestRefused

FORMATS = ("JPEG", "PNG")
# 8192 x 8192, or 8K UHD (7680 x 4320) twice over. Pillow itself warns from
# 89.5 million pixels on; decoding the largest PNG allowed takes about 300 MB.
MAX_PIXELS = 8192 * 8192
# The child's address space: the largest image allowed needs well under half.
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
CHILD_TIMEOUT_SECONDS = 60.0
# The child's exit status when the thumbnails did not fit on the disk.
DISK_FULL_EXIT_STATUS = 28
JPEG_QUALITY = 85

IMAGE_NAME = "last-rendered.jpg"
SMALL_IMAGE_NAME = "last-rendered-small.jpg"
TINY_IMAGE_NAME = "last-rendered-tiny.jpg"
SUFFIXES = (IMAGE_NAME, SMALL_IMAGE_NAME, TINY_IMAGE_NAME)
# Each thumbnail fits in its box, keeping the aspect ratio; largest first.
THUMBNAIL_BOXES = (
    (IMAGE_NAME, (1920, 1080)),
    (SMALL_IMAGE_NAME, (600, 338)),
    (TINY_IMAGE_NAME, (200, 112)),
)


class ImageRefused(RequestRefused):
    """An image the Manager will not decode; the status says why (413 or 415)."""


class ThumbnailsFailed(Exception):
    """The child process could not make the thumbnails."""


def check_header(data: bytes) -> None:
    """Refuse an image by its header alone: ImageRefused unless a JPEG or PNG of MAX_PIXELS.

    Reads no pixels, but may parse a few megabytes of metadata: call it in a thread.
    """
    with _open(data):
        pass


def _open(data: bytes) -> Image.Image:
    """The image, header read and size checked, pixels not yet decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        # Pillow's own checks, from 89.5 million pixels: the warning is only an
        # exception where warnings are errors (as in the tests), else it is
        # printed, and the check below refuses the image.
        raise ImageRefused(f"image too large: {bomb}", status=413) from None
    except UnidentifiedImageError:
        raise ImageRefused("not an image: expected a JPEG or PNG file", status=415) from None
    except (OSError, ValueError, EOFError) as error:
        raise ImageRefused(f"not a readable JPEG or PNG file: {error}", status=415) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageRefused(
            f"image too large: {width} x {height} pixels, "
            f"at most {MAX_PIXELS:,} pixels (8192 x 8192)",
            status=413,
        )
    if width * height == 0:
        image.close()
        raise ImageRefused("not a usable image: it has no pixels", status=415)
    return image


async def make_thumbnails(data: bytes, job_dir: Path) -> None:
    """Write the thumbnails of `data` into `job_dir`, decoded in a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(job_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(CHILD_TIMEOUT_SECONDS):
            _, errors = await child.communicate(data)
    except TimeoutError:
        raise ThumbnailsFailed(f"took more than {CHILD_TIMEOUT_SECONDS:.0f} s") from None
    finally:
        # Also when cancelled, at shutdown: no child outlives its Manager.
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode == DISK_FULL_EXIT_STATUS:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(job_dir))
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        raise ThumbnailsFailed(lines[-1] if lines else f"exit status {child.returncode}")


def make_thumbnails_blocking(data: bytes, job_dir: Path) -> None:
    """Decode `data` and write its thumbnails; what the child process does."""
    largest = THUMBNAIL_BOXES[0][1]
    with _open(data) as source:
        # A JPEG decodes at 1/2, 1/4 or 1/8 of its size where that still fills
        # the largest box: less memory and time. PNG has no such thing.
        source.draft("RGB", _fitted(source.size, largest))
        image = source.convert("RGB") if source.mode not in ("RGB", "L") else source
        # Shrunk before converting, to hold the full-size pixels only once.
        image.thumbnail(largest, Image.Resampling.LANCZOS)
        image = image.convert("RGB")
    job_dir.mkdir(parents=True, exist_ok=True)
    for name, box in THUMBNAIL_BOXES:
        image.thumbnail(box, Image.Resampling.LANCZOS)
        temporary = job_dir / f".{name}~"
        image.save(temporary, "JPEG", quality=JPEG_QUALITY)
        # Replace atomically, so the web interface never shows half an image.
        os.replace(temporary, job_dir / name)


def _fitted(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down to fit in `box`, keeping the aspect ratio."""
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:
        return  # Windows: no resource limits.
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))


def main() -> None:
    _limit_memory()
    data = sys.stdin.buffer.read()
    try:
        make_thumbnails_blocking(data, Path(sys.argv[1]))
    except ImageRefused as refusal:
        sys.exit(f"image refused: {refusal.message}")
    except MemoryError:
        sys.exit(f"out of memory: decoding needs more than {CHILD_MEMORY_BYTES >> 20} MB")
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Told apart by the exit status, so that the Manager raises its disk-full alarm.
        sys.exit(DISK_FULL_EXIT_STATUS)


if __name__ == "__main__":
    main()
