"""Frames that rendered but look wrong: entirely black, or the same as the frame before.

Warnings only, asked for per job (Simple Blender Render's `warn_black_frames` and
`warn_identical_frames` settings reach the Worker as the `frameWarnings`
parameter of `blender-render`). Decodes every pixel: call it in a thread.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from PIL import Image

BLACK = "black"
IDENTICAL = "identical"
KINDS = frozenset({BLACK, IDENTICAL})


@dataclass(frozen=True, slots=True)
class Look:
    black: bool
    digest: bytes


def look(path: str) -> Look | None:
    """Whether the frame is all black, and a digest of its pixels; None when Pillow cannot
    decode it (OpenEXR, say)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                rgb = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    black = all(high == 0 for _, high in rgb.getextrema())  # type: ignore[misc]
    digest = hashlib.blake2b(rgb.tobytes(), digest_size=16).digest()
    return Look(black=black, digest=digest)


def frame_warnings(
    paths: Sequence[str], kinds: Collection[str], previous: str | None = None
) -> dict[str, str]:
    """A warning per path that deserves one, for frames in frame order; `previous` is the
    frame before the first, when there is one on disk."""
    found: dict[str, str] = {}
    if not KINDS & set(kinds):
        return found
    earlier_path = previous
    earlier = look(previous) if previous and IDENTICAL in kinds else None
    for path in paths:
        current = look(path)
        if current is None:
            earlier, earlier_path = None, path
            continue
        if BLACK in kinds and current.black:
            found[path] = "every pixel is black"
        elif IDENTICAL in kinds and earlier is not None and earlier.digest == current.digest:
            found[path] = f"identical to the frame before it ({earlier_path})"
        earlier, earlier_path = current, path
    return found
