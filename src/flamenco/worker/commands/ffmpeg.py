"""The `frames-to-video` command: FFmpeg with a glob of frames, or a concat index on Windows."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from flamenco import crosspath
from flamenco.worker.commands.base import CommandContext, go_value, shlex_split
from flamenco.worker.error_lines import ErrorLines

logger = logging.getLogger(__name__)

INDEX_FILENAME = "ffmpeg-file-index.txt"

# FFmpeg's errors have no common prefix, but it stops soon after one, and everything
# else it prints has a recognisable start or is indented (the banner, stream details).
_INFORMATIONAL_STARTS = (
    "ffmpeg version ",
    "Input #",
    "Output #",
    "Stream mapping:",
    "Press [q]",
    "frame=",
    "size=",
    "video:",
    "Consider increasing the value",
)
# FFmpeg's closing line after any error; the lines before it say which.
UNINFORMATIVE = frozenset({"Conversion failed!"})


def find_ffmpeg() -> str | None:
    """The FFmpeg on the PATH, if any."""
    return shutil.which("ffmpeg")


def ffmpeg_version(exe: str) -> str | None:
    """The version from `ffmpeg -version`'s first line, or None when it does not run."""
    try:
        result = subprocess.run(
            [exe, "-version"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = result.stdout.partition("\n")[0]
    prefix = "ffmpeg version "
    return first[len(prefix) :].split(" ")[0] if first.startswith(prefix) else None


def is_error_line(line: str) -> bool:
    return not line[:1].isspace() and not line.startswith(_INFORMATIONAL_STARTS)


def error_lines() -> ErrorLines:
    """What of FFmpeg's output goes in the failure reason when FFmpeg fails."""
    return ErrorLines(is_error_line, uninformative=UNINFORMATIVE)


def _fps(ctx: CommandContext) -> float:
    value = ctx.parameters.get("fps")
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        raise ctx.missing("fps")
    return float(value)


def format_fps(fps: float) -> str:
    """Shortest text for the number, as Go's FormatFloat(f, 'f', -1) writes it."""
    return go_value(fps) if fps.is_integer() else repr(fps)


def build_args(ctx: CommandContext, input_args: list[str]) -> list[str]:
    """`exe exeArgs… argsBefore… <input> args… -r fps outputFile`."""
    exe = ctx.required_string("exe")
    fps = _fps(ctx)
    ctx.required_string("inputGlob")
    output_file = ctx.required_string("outputFile")
    args_before = ctx.strings("argsBefore")
    args = ctx.strings("args")
    exe_args = shlex_split(ctx, "exeArgs")
    if exe in ("ffmpeg", "ffmpeg.exe"):
        found = find_ffmpeg()
        if found is None:
            logger.warning("FFmpeg could not be found on this system")
            raise ctx.invalid("exe", "FFmpeg not found on this system")
        exe = found
    return [exe, *exe_args, *args_before, *input_args, *args, "-r", format_fps(fps), output_file]


def glob_input_args(input_glob: str, fps: float) -> list[str]:
    # FFmpeg needs the input frame rate too, or it assumes 25 and drops frames.
    return ["-r", format_fps(fps), "-pattern_type", "glob", "-i", crosspath.to_slash(input_glob)]


@contextlib.contextmanager
def concat_index(input_glob: str, fps: float) -> Iterator[list[str]]:
    """Windows' FFmpeg cannot glob; list the frames in an index file instead, removed afterwards."""
    files = sorted(glob.glob(input_glob))
    if not files:
        raise FileNotFoundError(f"no files found at {input_glob}")
    index = Path(os.path.dirname(input_glob)) / INDEX_FILENAME
    duration = 1.0 / fps
    with index.open("w", encoding="utf-8") as file:
        for name in files:
            escaped = name.replace("'", "\\'")
            file.write(f"file '{escaped}'\nduration {duration:f}\n")
    try:
        yield ["-f", "concat", "-safe", "0", "-i", str(index)]
    finally:
        try:
            index.unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            logger.warning(
                "cannot remove FFmpeg index file", extra={"path": str(index), "error": str(error)}
            )


async def frames_to_video(ctx: CommandContext) -> None:
    fps = _fps(ctx)
    input_glob = ctx.required_string("inputGlob")
    if ctx.platform != "win32":
        await ctx.run(build_args(ctx, glob_input_args(input_glob, fps)), error_lines=error_lines())
        return
    with contextlib.ExitStack() as cleanup:
        try:
            input_args = cleanup.enter_context(concat_index(input_glob, fps))
        except OSError as error:
            raise ctx.invalid("inputGlob", f"creating input for FFmpeg: {error}") from error
        await ctx.run(build_args(ctx, input_args), error_lines=error_lines())
