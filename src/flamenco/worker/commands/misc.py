"""The `misc` commands: echo and sleep."""

from __future__ import annotations

import datetime as dt
import logging

from flamenco.durations import format_duration
from flamenco.worker.commands.base import CommandContext, go_quote, go_value

logger = logging.getLogger(__name__)


async def echo(ctx: CommandContext) -> None:
    if "message" not in ctx.parameters:
        raise ctx.missing("message")
    message = go_value(ctx.parameters["message"])
    logger.info("echo", extra={"task": ctx.task_id, "echo_message": message})
    ctx.log(f"echo: {go_quote(message)}")


async def sleep(ctx: CommandContext) -> None:
    if "duration_in_seconds" not in ctx.parameters:
        raise ctx.missing("duration_in_seconds")
    value = ctx.parameters["duration_in_seconds"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.invalid(
            "duration_in_seconds", f"bad type {type(value).__name__}, expecting int or float"
        )
    if value < 0:
        raise ctx.invalid("duration_in_seconds", "cannot be negative")
    duration = dt.timedelta(seconds=value)
    logger.info("sleep", extra={"task": ctx.task_id, "duration": format_duration(duration)})
    await ctx.clock.sleep(float(value))
    ctx.log(f"slept {format_duration(duration)}")
