"""Reading per-frame render time and peak memory out of Blender's log, as Workers send it.

Blender (3.x and 4.x, Cycles, EEVEE and Workbench alike) ends every frame with

    Saved: '/render/shot/000001.png'
     Time: 00:04.97 (Saving: 00:00.15)

and, except for Workbench, reports its memory while rendering on lines like

    Fra:1 Mem:10.21M (Peak 11.32M) | Time:00:01.87 | Rendering 1 / 64 samples

Workers prefix every line (`pid=1234 > `) and send the log in chunks that may
split a frame's lines, so a parser follows one task's log across chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One pattern for the three lines that matter: a single pass over a chunk in C,
# since every log chunk of the farm passes through here.
_LINES = re.compile(
    r"Fra:(?P<frame>-?\d+) Mem:[^\s(]* \(Peak (?P<peak>\d+(?:\.\d+)?)(?P<unit>[KMGT]?)\)"
    r"|Saved: '(?P<saved>[^\n]*)'"
    r"|Time: (?P<time>\d+(?::\d+)*(?:\.\d+)?) \(Saving: (?P<saving>\d+(?::\d+)*(?:\.\d+)?)\)"
)
# What text must contain before the pattern is worth running at all.
_MARKERS = ("Fra:", "Saved: '", "(Saving:")
# Blender's "M" is a mebibyte (guardedalloc divides by 1024 * 1024).
_UNIT_BYTES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_LAST_NUMBER = re.compile(r"(\d+)\D*$")


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One frame as Blender reported it.

    `render_seconds` is Blender's own "Time", which includes writing the image;
    `saving_seconds` is the writing part of it.
    """

    frame: int | None
    render_seconds: float
    saving_seconds: float | None
    peak_memory_bytes: int | None
    output_path: str


def parse_duration(text: str) -> float:
    """Blender's `MM:SS.ss` or `HH:MM:SS.ss` (also plain seconds) as seconds."""
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def frame_from_path(path: str) -> int | None:
    """The frame number in an output file name such as `shot_000042.png`."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    match = _LAST_NUMBER.search(stem)
    return int(match.group(1)) if match else None


class FrameLogParser:
    """Follows one task's Blender log, chunk by chunk, and says which frames it finished."""

    __slots__ = ("_frame", "_peak_bytes", "_saved")

    def __init__(self) -> None:
        self._frame: int | None = None
        self._peak_bytes: int | None = None
        self._saved: str | None = None

    def feed(self, text: str) -> list[RenderedFrame]:
        """The frames that `text`, the next piece of the log, completes."""
        if not any(marker in text for marker in _MARKERS):
            return []
        finished: list[RenderedFrame] = []
        for match in _LINES.finditer(text):
            frame = match.group("frame")
            if frame is not None:
                self._frame = int(frame)
                peak = int(float(match.group("peak")) * _UNIT_BYTES[match.group("unit")])
                if self._peak_bytes is None or peak > self._peak_bytes:
                    self._peak_bytes = peak
                continue
            saved = match.group("saved")
            if saved is not None:
                self._saved = saved
                continue
            rendered = self._finish(match.group("time"), match.group("saving"))
            if rendered is not None:
                finished.append(rendered)
        return finished

    def _finish(self, time: str, saving: str) -> RenderedFrame | None:
        frame = self._frame
        if frame is None and self._saved is not None:
            frame = frame_from_path(self._saved)  # Workbench prints no Fra: lines.
        if frame is None and self._saved is None:
            return None  # A stray "Time:" line, not the end of a frame.
        rendered = RenderedFrame(
            frame=frame,
            render_seconds=parse_duration(time),
            saving_seconds=parse_duration(saving),
            peak_memory_bytes=self._peak_bytes,
            output_path=self._saved or "",
        )
        self._frame = self._peak_bytes = self._saved = None
        return rendered
