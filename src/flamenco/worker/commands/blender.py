"""The `blender-render` command: Blender's command line, and progress read from its output."""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass

from flamenco import crosspath
from flamenco.worker import output_verification
from flamenco.worker.commands.base import CommandContext, shlex_split
from flamenco.worker.error_lines import ErrorLines

logger = logging.getLogger(__name__)

# Blender 5.0 puts a clock and a log category before each line ("00:00.327  render  | ");
# older versions print the bare message, sometimes indented.
_PREFIX = r"^\s*(?:[0-9:.]+\s+\S+\s+\|\s*)?"
SAVED = re.compile(_PREFIX + r"Saved: '(.*)'")
FRAME_RENDERED = re.compile(_PREFIX + r"Time: ([0-9:.]+)")
FRAME_SKIPPED = re.compile(_PREFIX + r"[Ss]kipping existing frame")
# "Error: Build without OpenImageDenoiser", "ERROR (bke.appdir): ...", and the last line of a
# Python traceback ("ValueError: ..."), which says more than Blender's "script failed" after it.
ERROR = re.compile(_PREFIX + r"(?:Error|ERROR)\b")
PYTHON_EXCEPTION = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::|$)")
# Said at the end of every run, failed or not.
UNINFORMATIVE = frozenset({"Blender quit"})


@dataclass(frozen=True, slots=True)
class OutputLine:
    """What a line of Blender's output tells the Worker."""

    saved: str | None = None
    frame_done: bool = False


NOTHING = OutputLine()


def parse_line(line: str) -> OutputLine:
    # Most lines are none of these; a substring test is much cheaper than three regexes.
    if "Saved: " in line:
        match = SAVED.match(line)
        if match:
            return OutputLine(saved=match.group(1))
    if "Time: " in line and FRAME_RENDERED.match(line):
        return OutputLine(frame_done=True)
    if "kipping existing frame" in line and FRAME_SKIPPED.match(line):
        return OutputLine(frame_done=True)
    return NOTHING


def is_error_line(line: str) -> bool:
    if "rror" not in line and "ERROR" not in line and "Exception" not in line:
        return False
    if line.endswith("Traceback (most recent call last):"):
        return False  # the exception itself comes at the end of the traceback
    return ERROR.match(line) is not None or PYTHON_EXCEPTION.match(line) is not None


def error_lines() -> ErrorLines:
    """What of Blender's output goes in the failure reason when Blender fails."""
    return ErrorLines(is_error_line, uninformative=UNINFORMATIVE)


def build_args(ctx: CommandContext) -> list[str]:
    """`exe exeArgs… argsBefore… [blendfile] args…`, as upstream assembles it."""
    exe = ctx.required_string("exe")
    args_before = ctx.strings("argsBefore")
    blendfile = ctx.optional_string("blendfile")
    args = ctx.strings("args")
    exe_args = shlex_split(ctx, "exeArgs")
    return [exe, *exe_args, *args_before, *([blendfile] if blendfile else []), *args]


def _check_executable(exe: str) -> None:
    if crosspath.dir(exe) == "." and shutil.which(exe) is None:
        # Upstream asks Windows for the program associated with .blend files here;
        # elsewhere, and failing that, the OS reports the missing program.
        logger.warning("Blender not found on the PATH", extra={"exe": exe})


async def blender_render(ctx: CommandContext) -> None:
    args = build_args(ctx)
    _check_executable(args[0])
    saved: list[str] = []

    def on_lines(lines: list[str]) -> None:
        for line in lines:
            result = parse_line(line)
            if result is NOTHING:
                continue
            if result.saved is not None:
                logger.debug("blender-render: output produced", extra={"file": result.saved})
                saved.append(result.saved)
                ctx.output_produced(result.saved)
            if result.frame_done:
                logger.info("blender-render: frame done", extra={"task": ctx.task_id})
                ctx.step()

    await ctx.run(args, on_lines, error_lines=error_lines())
    # Exit status 0 is not enough: a full disk or a share that went away can leave
    # frames missing or cut short. A broken frame is set aside, so that the next
    # try renders it again rather than skipping the existing file.
    paths = output_verification.expected_paths(args[1:], ctx.optional_string("blendfile"), saved)
    await output_verification.verify(ctx.name, paths, ctx.log)
    warnings = ctx.strings("frameWarnings")
    if warnings:
        await output_verification.warn_about_looks(
            args[1:], ctx.optional_string("blendfile"), warnings, ctx.log
        )
