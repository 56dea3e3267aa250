"""Running a task: started, commands in order, steps, completed; or failed with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flamenco.clock import SystemClock
from flamenco.worker.client import Answer
from flamenco.worker.commands import CommandContext
from flamenco.worker.errors import CommandError
from flamenco.worker.reporter import Reporter
from flamenco.worker.task_executor import TaskExecutor
from flamenco.worker.upstream_buffer import UpstreamBuffer
from support.fakes import FakeClock

TASK = "90e9d656-e201-4ef0-b6b0-c80684fafa27"


class Manager:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer:
        self.updates.append(update)
        return Answer(204, None)


async def counting(ctx: CommandContext) -> None:
    ctx.log("counting")
    for _ in range(int(ctx.parameters["steps"])):
        ctx.step()


async def failing(ctx: CommandContext) -> None:
    raise CommandError("failing: it went wrong")


async def crashing(ctx: CommandContext) -> None:
    raise KeyError("bug")


COMMANDS = {"counting": counting, "failing": failing, "crashing": crashing}


async def run_task(tmp_path: Path, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    manager = Manager()
    buffer = UpstreamBuffer(manager, FakeClock(), tmp_path / "buffer.sqlite")
    await buffer.open()
    reporter = Reporter(buffer, SystemClock())
    sender = asyncio.create_task(reporter.run())
    executor = TaskExecutor(
        reporter, SystemClock(), output_produced=lambda task, path: None, commands=COMMANDS
    )
    await executor.run({"uuid": TASK, "job": "job", "commands": commands})
    await reporter.drain()
    sender.cancel()
    await buffer.close()
    return manager.updates


async def test_start_commands_complete(tmp_path: Path) -> None:
    updates = await run_task(
        tmp_path,
        [
            {"name": "counting", "parameters": {"steps": 2}, "total_step_count": 2},
            {"name": "counting", "parameters": {"steps": 0}, "total_step_count": 0},
        ],
    )
    assert updates == [
        {"taskStatus": "active", "activity": "Started"},
        {"log": "counting\n"},
        {"activity": "Progress", "steps_completed": 1},
        {"activity": "Progress", "steps_completed": 2},
        {"log": "counting\n"},
        # The second command counts no steps of its own, so it counts as one.
        {"activity": "Progress", "steps_completed": 3},
        {"taskStatus": "completed", "activity": "Completed"},
    ]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("failing", "failing: it went wrong"),
        ("bogus", 'unknown command: "bogus"'),
        ("crashing", "crashing: KeyError: 'bug'"),
    ],
)
async def test_failure_stops_the_task(tmp_path: Path, command: str, reason: str) -> None:
    updates = await run_task(
        tmp_path,
        [{"name": command, "parameters": {}}, {"name": "counting", "parameters": {"steps": 1}}],
    )
    assert updates[-1] == {
        "taskStatus": "failed",
        "activity": f"Failed: {reason}",
        "log": f"Failed: {reason}",
    }
    assert {"log": "counting\n"} not in updates
