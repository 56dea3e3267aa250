"""After a render: every frame it was meant to write is there and whole, or the task fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from flamenco.frame_checks import expected, files, looks
from flamenco.worker.errors import CommandError

# The failure reason names this many broken frames; the log names them all.
NAMED_IN_REASON = 3


class FramesNotWritten(CommandError):
    """Frames the command should have written are missing or broken."""


def expected_paths(args: Sequence[str], blendfile: str, saved: Iterable[str]) -> list[str]:
    """The frames of Blender's command line, and whatever else Blender said it saved."""
    paths: list[str] = []
    output = expected.render_output(args, blendfile)
    if output is not None:
        paths.extend(path for _, path in output.paths())
    known = set(paths)
    paths.extend(path for path in saved if path not in known)
    return list(dict.fromkeys(paths))


async def verify(command: str, paths: list[str], log: Callable[[str], None]) -> None:
    """Check the files off the event loop; log each missing or broken one, then fail."""
    if not paths:
        return
    checks = await asyncio.to_thread(files.check_and_set_aside, paths)
    bad = [check for check in checks if not check.ok]
    if not bad:
        log(f"{command}: checked {len(checks)} frames: all there and whole")
        return
    log("\n".join(check.describe() for check in bad))
    named = ", ".join(check.path for check in bad[:NAMED_IN_REASON])
    more = f" and {len(bad) - NAMED_IN_REASON} more" if len(bad) > NAMED_IN_REASON else ""
    raise FramesNotWritten(
        f"{command}: {len(bad)} of {len(checks)} frames missing or broken: {named}{more}"
    )


async def warn_about_looks(
    args: Sequence[str], blendfile: str, kinds: list[str], log: Callable[[str], None]
) -> None:
    """Log a warning for each frame that is all black or the same as the one before."""
    output = expected.render_output(args, blendfile)
    if output is None or not looks.KINDS & set(kinds):
        return
    frames = sorted(output.frames)
    paths = [output.path_for(frame) for frame in frames]
    previous = output.path_for(frames[0] - 1)
    found = await asyncio.to_thread(looks.frame_warnings, paths, kinds, previous)
    for path, warning in found.items():
        log(f"warning: frame {path}: {warning}")
