"""The `exec` command: run any executable with arguments."""

from __future__ import annotations

from flamenco.worker.commands.base import CommandContext


def build_args(ctx: CommandContext) -> list[str]:
    exe = ctx.required_string("exe")
    return [exe, *ctx.strings("args")]


async def exec_command(ctx: CommandContext) -> None:
    await ctx.run(build_args(ctx))
