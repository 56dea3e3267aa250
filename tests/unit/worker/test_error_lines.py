"""Picking the lines of Blender's and FFmpeg's output that say why they failed."""

# The recorded output keeps its long lines.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from flamenco.worker.commands import blender, ffmpeg
from flamenco.worker.error_lines import ErrorLines, shorten

# Recorded from Debian 12's Blender 3.4.1 and FFmpeg 5.1.
BLENDER_WITHOUT_DENOISER = """\
Blender 3.4.1
Read blend: /render/scene.blend
Fra:1 Mem:10.21M (Peak 10.47M) | Time:00:00.04 | Mem:0.76M, Peak:0.76M | Scene, ViewLayer | Updating Device | Writing constant memory
Build without OpenImageDenoiser
No device available to denoise on
Fra:1 Mem:10.21M (Peak 10.47M) | Time:00:00.04 | Mem:0.76M, Peak:0.76M | Scene, ViewLayer | Build without OpenImageDenoiser
Error: Build without OpenImageDenoiser

Blender quit
"""

BLENDER_PYTHON_EXCEPTION = """\
Blender 3.4.1
Error: Python: Traceback (most recent call last):
  File "<string>", line 1, in <module>
ValueError: boom from test

Error: script failed, expr: 'raise ValueError('boom from test')', exiting.
"""

BLENDER_5_LOG = """\
Blender 5.0.0
00:00.327  blend  | Read blend: "/render/scene.blend"
00:01.002  render | ERROR Cannot write to /render/out: Permission denied
Blender quit
"""

BLENDER_CRASH = """\
Blender 3.4.1
Fra:1 Mem:10.21M (Peak 10.47M) | Time:00:00.04 | Sample 1/16
Writing: /tmp/scene.crash.txt
Blender quit
"""

FFMPEG_ODD_WIDTH = """\
ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers
  built with gcc 12 (Debian 12.2.0-14+deb12u1)
  configuration: --prefix=/usr --extra-version=0+deb12u1
  libavutil      57. 28.100 / 57. 28.100
Input #0, image2, from '/tmp/fr/*.png':
  Duration: 00:00:00.20, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: png, rgb24(pc), 16x16 [SAR 1:1 DAR 1:1], 25 fps, 25 tbr, 25 tbn
Stream mapping:
  Stream #0:0 -> #0:0 (png (native) -> h264 (libx264))
Press [q] to stop, [?] for help
[libx264 @ 0x5586c9157080] width not divisible by 2 (15x15)
Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height
Conversion failed!
"""

FFMPEG_NO_FRAMES = """\
ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers
  libavutil      57. 28.100 / 57. 28.100
[image2 @ 0x561101c58940] Could not open file : /render/frames/*.png
[image2 @ 0x561101c58940] Could not find codec parameters for stream 0 (Video: png, none(pc)): unspecified size
Consider increasing the value for the 'analyzeduration' (0) and 'probesize' (5000000) options
Input #0, image2, from '/render/frames/*.png':
  Duration: 00:00:00.04, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: png, none(pc), 25 fps, 25 tbr, 25 tbn
Output #0, mp4, to '/render/video.mp4':
Output file #0 does not contain any stream
"""

FFMPEG_UNKNOWN_ENCODER = """\
ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers
Input #0, image2, from '/tmp/fr/*.png':
  Stream #0:0: Video: png, rgb24(pc), 16x16 [SAR 1:1 DAR 1:1], 25 fps, 25 tbr, 25 tbn
Unknown encoder 'nonexistentcodec'
"""


def summary(errors: ErrorLines, output: str) -> str:
    errors.feed(output.splitlines())
    return errors.summary()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (BLENDER_WITHOUT_DENOISER, "Error: Build without OpenImageDenoiser"),
        (
            BLENDER_PYTHON_EXCEPTION,
            "ValueError: boom from test | "
            "Error: script failed, expr: 'raise ValueError('boom from test')', exiting.",
        ),
        (
            BLENDER_5_LOG,
            "00:01.002  render | ERROR Cannot write to /render/out: Permission denied",
        ),
        (BLENDER_CRASH, "Writing: /tmp/scene.crash.txt"),
        ("Blender 3.4.1\n\nBlender quit\n", "Blender 3.4.1"),
        ("", ""),
    ],
    ids=["denoiser", "python", "blender-5", "crash", "nothing-said", "silent"],
)
def test_blender_error_lines(output: str, expected: str) -> None:
    assert summary(blender.error_lines(), output) == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            FFMPEG_ODD_WIDTH,
            "[libx264 @ 0x5586c9157080] width not divisible by 2 (15x15) | "
            "Error initializing output stream 0:0 -- Error while opening encoder for output "
            "stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height",
        ),
        (
            FFMPEG_NO_FRAMES,
            "[image2 @ 0x561101c58940] Could not open file : /render/frames/*.png | "
            "[image2 @ 0x561101c58940] Could not find codec parameters for stream 0 "
            "(Video: png, none(pc)): unspecified size | "
            "Output file #0 does not contain any stream",
        ),
        (FFMPEG_UNKNOWN_ENCODER, "Unknown encoder 'nonexistentcodec'"),
    ],
    ids=["odd-width", "no-frames", "unknown-encoder"],
)
def test_ffmpeg_error_lines(output: str, expected: str) -> None:
    assert summary(ffmpeg.error_lines(), output) == expected


def test_generic_error_lines_keep_the_last_three_and_fall_back_to_the_last_line() -> None:
    errors = ErrorLines()
    errors.feed(["starting", "error: one", "fine", "ERROR two", "Cannot three", "fatal: four", ""])
    assert errors.summary() == "ERROR two | Cannot three | fatal: four"
    quiet = ErrorLines()
    quiet.feed(["starting", "  the last thing it said  ", "   "])
    assert quiet.summary() == "the last thing it said"


def test_long_lines_are_shortened() -> None:
    errors = ErrorLines()
    errors.feed(["Error: " + "x" * 1000])
    said = errors.summary()
    assert len(said) == 300 and said.endswith("…")
    assert shorten("short") == "short"
