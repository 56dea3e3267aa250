"""The `file-management` commands: make-directory, move-directory and copy-file."""

from __future__ import annotations

import asyncio
import datetime as dt
import glob
import logging
import os
import re
import shutil
import stat

from flamenco.worker.commands.base import CommandContext
from flamenco.worker.errors import CommandError

logger = logging.getLogger(__name__)

_NUMERIC_SUFFIX = re.compile(r"-([0-9]+)$")


def timestamped_path(path: str) -> str:
    """`path-YYYY-MM-DD_HHMMSS`, from the path's modification time in local time."""
    mtime = os.stat(path).st_mtime
    moment = dt.datetime.fromtimestamp(round(mtime))
    return f"{path}-{moment.strftime('%Y-%m-%d_%H%M%S')}"


def unique_path(path: str) -> str:
    """`path-NNN`, one past the highest numeric suffix already in use."""
    highest = 0
    for existing in glob.glob(glob.escape(path) + "-*"):
        match = _NUMERIC_SUFFIX.search(existing)
        if match:
            highest = max(highest, int(match.group(1)))
    return f"{path}-{highest + 1:03d}"


async def make_directory(ctx: CommandContext) -> None:
    path = ctx.required_string("path")
    logger.info("creating directory", extra={"task": ctx.task_id, "path": path})
    ctx.log(f'{ctx.name}: creating directory "{path}"')
    try:
        await asyncio.to_thread(os.makedirs, path, 0o775, True)
    except OSError as error:
        ctx.log(f'{ctx.name}: could not create directory "{path}": {error}')
        raise CommandError(f"{ctx.name}: could not create directory {path!r}: {error}") from error


async def move_directory(ctx: CommandContext) -> None:
    src = ctx.required_string("src")
    dest = ctx.required_string("dest")
    if not os.path.lexists(src):
        ctx.log(f'{ctx.name}: source path "{src}" does not exist, not moving anything')
        raise ctx.invalid("src", "path does not exist")
    if os.path.lexists(dest):
        backup = timestamped_path(dest)
        if os.path.lexists(backup):
            backup = unique_path(backup)
        logger.info("destination exists, moving it aside", extra={"dest": dest, "backup": backup})
        await _move(ctx, dest, backup)
    await _move(ctx, src, dest)


async def _move(ctx: CommandContext, src: str, dest: str) -> None:
    ctx.log(f'{ctx.name}: moving "{src}" to "{dest}"')
    try:
        await asyncio.to_thread(os.rename, src, dest)
    except OSError as error:
        ctx.log(f'{ctx.name}: could not move "{src}" to "{dest}": {error}')
        raise CommandError(f"{ctx.name}: could not move {src!r} to {dest!r}: {error}") from error


async def copy_file(ctx: CommandContext) -> None:
    src = ctx.parameters.get("src")
    if not isinstance(src, str) or not src:
        raise _refuse(ctx, ctx.missing("src"), "missing or empty 'src' parameter")
    if not os.path.isabs(src):
        message = f'source path "{src}" is not absolute, not copying anything'
        raise _refuse(ctx, ctx.invalid("src", "path is not absolute"), message)
    if not os.path.lexists(src):
        message = f'source path "{src}" does not exist, not copying anything'
        raise _refuse(ctx, ctx.invalid("src", "path does not exist"), message)
    dest = ctx.parameters.get("dest")
    if not isinstance(dest, str) or not dest:
        raise _refuse(ctx, ctx.missing("dest"), "missing or empty 'dest' parameter")
    if not os.path.isabs(dest):
        message = f'destination path "{dest}" is not absolute, not copying anything'
        raise _refuse(ctx, ctx.invalid("dest", "path is not absolute"), message)
    if os.path.lexists(dest):
        message = f'destination path "{dest}" already exists, not copying anything'
        raise _refuse(ctx, ctx.invalid("dest", "path already exists"), message)

    ctx.log(f'{ctx.name}: copying "{src}" to "{dest}"')
    try:
        await asyncio.to_thread(_copy_blocking, src, dest)
    except OSError as error:
        message = f'failed to copy "{src}" to "{dest}": {error}'
        raise _refuse(ctx, CommandError(f"{ctx.name}: {message}"), message) from error
    ctx.log(f'{ctx.name}: copied "{src}" to "{dest}"')


def _refuse(ctx: CommandContext, error: CommandError, message: str) -> CommandError:
    logger.warning("%s: %s", ctx.name, message, extra={"task": ctx.task_id})
    ctx.log(f"{ctx.name}: {message}")
    return error


def _copy_blocking(src: str, dest: str) -> None:
    if not stat.S_ISREG(os.stat(src).st_mode):
        raise IsADirectoryError(f"invalid source file {src!r}: not a regular file")
    os.makedirs(os.path.dirname(dest), mode=0o750, exist_ok=True)
    # "x" refuses to overwrite a file that appeared since the check above.
    with open(src, "rb") as source, open(dest, "xb") as target:
        shutil.copyfileobj(source, target)
