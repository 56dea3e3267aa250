"""Running one task: its commands in order, with started, progress, completed or failed reports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flamenco.api.enums import TaskStatus
from flamenco.clock import Clock
from flamenco.worker.commands import COMMANDS, CommandContext, CommandFunction
from flamenco.worker.errors import CommandError, UnknownCommand
from flamenco.worker.reporter import Reporter

logger = logging.getLogger(__name__)


class TaskExecutor:
    def __init__(
        self,
        reporter: Reporter,
        clock: Clock,
        *,
        output_produced: Callable[[str, str], None],
        oom_score_adjust: int | None = None,
        environment: Mapping[str, str] | None = None,
        commands: Mapping[str, CommandFunction] = COMMANDS,
    ) -> None:
        self._reporter = reporter
        self._clock = clock
        self._output_produced = output_produced
        self._oom_score_adjust = oom_score_adjust
        self._environment = dict(environment or {})
        self._commands = commands

    async def run(self, task: Mapping[str, Any]) -> None:
        """Run the task to its end; TaskReassigned means the Manager gave it to another Worker.

        Cancellation stops the running command and reports nothing: the Manager
        requeues the task when the Worker signs off or changes status.
        """
        task_id = str(task["uuid"])
        logger.info(
            "starting task",
            extra={"task": task_id, "job": task.get("job"), "task_type": task.get("task_type")},
        )
        await self._reporter.update(
            task_id, {"taskStatus": TaskStatus.ACTIVE.value, "activity": "Started"}
        )

        steps_completed = 0

        def step() -> None:
            nonlocal steps_completed
            steps_completed += 1
            self._reporter.step(task_id, steps_completed)

        for command in task.get("commands") or []:
            context = self._context(task_id, command, step)
            try:
                await self._run_command(context)
            except CommandError as error:
                await self._fail(task_id, str(error))
                return
            except Exception as error:
                # A bug in the Worker still fails the task, with a reason someone can report.
                logger.exception("unexpected error running command", extra={"task": task_id})
                await self._fail(task_id, f"{context.name}: {type(error).__name__}: {error}")
                return
            # A command that counts no steps of its own counts as one when it finishes.
            if int(command.get("total_step_count") or 0) <= 0:
                step()

        await self._reporter.update(
            task_id, {"taskStatus": TaskStatus.COMPLETED.value, "activity": "Completed"}
        )
        logger.info("task completed", extra={"task": task_id})

    def _context(
        self, task_id: str, command: Mapping[str, Any], step: Callable[[], None]
    ) -> CommandContext:
        parameters = command.get("parameters")
        return CommandContext(
            task_id=task_id,
            name=str(command.get("name", "")),
            parameters=dict(parameters) if isinstance(parameters, dict) else {},
            log_lines=lambda lines: self._reporter.log_lines(task_id, lines),
            step=step,
            output_produced=lambda path: self._output_produced(task_id, path),
            clock=self._clock,
            oom_score_adjust=self._oom_score_adjust,
            environment=self._environment,
        )

    async def _run_command(self, context: CommandContext) -> None:
        function = self._commands.get(context.name)
        if function is None:
            raise UnknownCommand(context.name)
        logger.info(
            "running Flamenco command",
            extra={"task": context.task_id, "command": context.name},
        )
        await function(context)

    async def _fail(self, task_id: str, reason: str) -> None:
        logger.warning("task failed", extra={"task": task_id, "reason": reason})
        message = f"Failed: {reason}"
        # The reason also goes in the log, where people look for it later.
        await self._reporter.update(
            task_id,
            {"taskStatus": TaskStatus.FAILED.value, "activity": message, "log": message},
        )
