"""Whether one rendered file is there, not empty, and whole for its format.

Blocking file I/O: call it in a thread. The checks read structure, not pixels,
where the format allows: a PNG's chunks and their checksums (Pillow's verify),
a JPEG's end marker, a TIFF's strips, an OpenEXR's chunk offsets. Other formats
Pillow reads are decoded in full, which finds a cut-off file too.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from flamenco.frame_checks import openexr
from flamenco.frame_checks.expected import EXTENSIONS

# Formats whose files Pillow's verify() reads through to the end.
_VERIFIED_BY_PILLOW = frozenset({"PNG"})
# Formats with structure checks of our own below.
_JPEG_END = b"\xff\xd9"
_RADIANCE_MAGIC = b"#?"
_MAGIC_FORMATS = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# DPX and Cineon, which Pillow does not read, say their file size in their header:
# (magic, byte order, where the size is).
_SIZED_FORMATS = (
    (b"SDPX", ">", 16, "DPX"),
    (b"XPDS", "<", 16, "DPX"),
    (b"\x80\x2a\x5f\xd7", ">", 20, "Cineon"),
    (b"\xd7\x5f\x2a\x80", "<", 20, "Cineon"),
)
_TIFF_STRIP_TAGS = ((273, 279), (324, 325))  # (offsets, byte counts): strips, tiles


class FrameState(StrEnum):
    RENDERED = "rendered"
    MISSING = "missing"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The verdict on one file; `problem` says what is wrong when it is not rendered."""

    path: str
    state: FrameState
    problem: str = ""
    size: int = 0
    modified_ns: int = 0

    @property
    def ok(self) -> bool:
        return self.state == FrameState.RENDERED

    def describe(self) -> str:
        """A log line naming the file and what is wrong with it."""
        return f"{self.state} frame {self.path}: {self.problem}"


def check_file(path: str, previous: FileCheck | None = None) -> FileCheck:
    """Look at one file: missing, empty, cut off or otherwise unreadable, or rendered.

    With the `previous` check of the same path, a file of the same size and time of
    change is not read again: a scan of a job's output reads only what changed.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return FileCheck(path, FrameState.MISSING, "the file does not exist")
    except OSError as error:
        return FileCheck(path, FrameState.MISSING, f"cannot see the file: {error.strerror}")
    size, modified = status.st_size, status.st_mtime_ns
    if (
        previous is not None
        and previous.state != FrameState.MISSING
        and previous.size == size
        and previous.modified_ns == modified
    ):
        return previous
    if size == 0:
        return FileCheck(path, FrameState.BROKEN, "the file is empty", size, modified)
    try:
        problem = _problem(path, size)
    except OSError as error:
        problem = f"cannot read the file: {error.strerror or error}"
    state = FrameState.BROKEN if problem else FrameState.RENDERED
    return FileCheck(path, state, problem, size, modified)


def _problem(path: str, size: int) -> str:
    """What is wrong with the file's content, or "" when it is whole."""
    with open(path, "rb") as file:
        if file.read(4) == openexr.MAGIC:
            file.seek(0)
            try:
                openexr.check(file, size)
            except openexr.OpenEXRBroken as broken:
                return f"not a whole OpenEXR file: {broken}"
            return ""
        file.seek(0)
        head = file.read(32)
        for magic, byte_order, position, name in _SIZED_FORMATS:
            if head.startswith(magic):
                (declared,) = struct.unpack_from(byte_order + "I", head, position)
                if declared > size:
                    return f"not a whole {name} file: {size} of its {declared} bytes"
                return ""
        file.seek(0)
        with warnings.catch_warnings():
            # Pillow warns about huge images (a render may well be one) and about the
            # metadata of cut-off files, which the checks below report.
            warnings.simplefilter("ignore")
            return _pillow_problem(file, size, _likely_format(head))


def _likely_format(head: bytes) -> tuple[str, ...] | None:
    """The Pillow format the first bytes say, to spare Pillow trying each of its plugins."""
    for magic, name in _MAGIC_FORMATS:
        if head.startswith(magic):
            return (name,)
    return None


def _pillow_problem(file: BinaryIO, size: int, formats: tuple[str, ...] | None) -> str:
    try:
        image = Image.open(file, formats=formats)
    except UnidentifiedImageError:
        # Radiance HDR, which Pillow does not know: being there and not empty is all
        # that is checked. Anything else is not what Blender writes, or cut short
        # before what identifies it (a TIFF's directory comes last).
        file.seek(0)
        if file.read(2) == _RADIANCE_MAGIC:
            return ""
        return "not an image file that can be read"
    except (OSError, ValueError, EOFError, SyntaxError, Image.DecompressionBombError) as error:
        return f"cannot read the image header: {error}"
    image_format = image.format or ""
    try:
        if image_format in _VERIFIED_BY_PILLOW:
            image.verify()
            if image_format == "PNG":
                return _end_problem(file, size, _PNG_END, "PNG", "its end chunk")
        elif image_format == "JPEG":
            return _end_problem(file, size, _JPEG_END, "JPEG", "an end-of-image marker")
        elif image_format == "TIFF" and isinstance(image, TiffImagePlugin.TiffImageFile):
            return _tiff_problem(image, size)
        else:
            image.load()
    except (OSError, ValueError, EOFError, SyntaxError, struct.error) as error:
        return f"not a whole {image_format or 'image'} file: {error}"
    finally:
        image.close()
    return ""


def _end_problem(file: BinaryIO, size: int, end: bytes, name: str, what: str) -> str:
    # Decoding would find a file cut short too, at the cost of every pixel.
    file.seek(max(0, size - 64))
    tail = file.read().rstrip(b"\0")
    if not tail.endswith(end):
        return f"not a whole {name} file: it does not end with {what}"
    return ""


def _tiff_problem(image: TiffImagePlugin.TiffImageFile, size: int) -> str:
    tags = image.tag_v2
    for offsets_tag, counts_tag in _TIFF_STRIP_TAGS:
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        for offset, count in zip(offsets, counts, strict=False):
            if offset + count > size:
                return (
                    f"not a whole TIFF file: image data at {offset}+{count} past its end ({size})"
                )
        return ""
    image.load()
    return ""


BROKEN_SUFFIX = ".broken"
IMAGE_EXTENSIONS = tuple(sorted({ext for exts in EXTENSIONS.values() for ext in exts}))


class NotAnImageName(OSError):
    """Only files named like images are set aside."""


def set_aside(path: str) -> str:
    """Rename a broken frame out of the way, so that a render that keeps existing frames
    (as Simple Blender Render's does) renders it again; returns the new name.

    Kept rather than deleted: it is evidence of what went wrong, and a false alarm
    would otherwise cost a frame. Only a file with an image format's extension is
    renamed: a job's command line names the files, and must not be able to have
    the Manager rename any file of its choosing.
    """
    if not path.lower().endswith(IMAGE_EXTENSIONS):
        raise NotAnImageName(0, "its name has no image file extension", path)
    aside = path + BROKEN_SUFFIX
    os.replace(path, aside)
    return aside


def check_and_set_aside(paths: list[str]) -> list[FileCheck]:
    """Check every file; set the broken ones aside. Blocking: call it in a thread."""
    checks = []
    for path in paths:
        check = check_file(path)
        if check.state == FrameState.BROKEN:
            try:
                aside = set_aside(path)
            except OSError as error:
                check = FileCheck(
                    path, check.state, f"{check.problem} (not set aside: {error.strerror})"
                )
            else:
                check = FileCheck(path, check.state, f"{check.problem}; set aside as {aside}")
        checks.append(check)
    return checks
