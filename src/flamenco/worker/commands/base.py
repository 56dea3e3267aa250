"""What every command gets to work with, and reading its parameters the way upstream does."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flamenco.clock import Clock
from flamenco.worker import subprocess_runner
from flamenco.worker.error_lines import ErrorLines
from flamenco.worker.errors import ParameterInvalid, ParameterMissing


@dataclass(kw_only=True)
class CommandContext:
    """One command of one task, with the ways to report on it."""

    task_id: str
    name: str
    parameters: dict[str, Any]
    log_lines: Callable[[list[str]], None]
    step: Callable[[], None]
    output_produced: Callable[[str], None]
    clock: Clock
    oom_score_adjust: int | None = None
    # Variables for the processes the command starts (the Worker's GPU pinning).
    environment: Mapping[str, str] = field(default_factory=dict)
    platform: str = field(default=sys.platform)

    def log(self, text: str) -> None:
        """Add text to the task log (one or more lines)."""
        self.log_lines(text.splitlines() or [""])

    async def run(
        self,
        args: Sequence[str],
        on_lines: Callable[[list[str]], None] | None = None,
        *,
        error_lines: ErrorLines | None = None,
    ) -> None:
        """Run a program; when it fails, the error names what its output said went wrong."""
        await subprocess_runner.run_command(
            args,
            task_log=self.log_lines,
            on_lines=on_lines,
            error_lines=error_lines,
            oom_score_adjust=self.oom_score_adjust,
            environment=self.environment,
        )

    # --- parameters

    def missing(self, key: str) -> ParameterMissing:
        return ParameterMissing(self.name, key, self.parameters)

    def invalid(self, key: str, message: str) -> ParameterInvalid:
        return ParameterInvalid(self.name, key, self.parameters, message)

    def required_string(self, key: str) -> str:
        """A string that must be present and non-empty."""
        value = self.parameters.get(key)
        if not isinstance(value, str) or value == "":
            raise self.missing(key)
        return value

    def optional_string(self, key: str) -> str:
        """A string that may be absent (empty); any other type is invalid."""
        if key not in self.parameters:
            return ""
        value = self.parameters[key]
        if not isinstance(value, str):
            raise self.invalid(key, "cannot convert to string")
        return value

    def strings(self, key: str) -> list[str]:
        """A list whose items become strings; absent means empty."""
        if key not in self.parameters:
            return []
        value = self.parameters[key]
        if not isinstance(value, list):
            raise self.invalid(key, "cannot convert to list of strings")
        return [go_value(item) for item in value]


CommandFunction = Callable[[CommandContext], Awaitable[None]]


def go_value(value: Any) -> str:
    """Format a JSON value as Go's `%v` does, which is how upstream turns parameters into text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        # JSON numbers are float64 in Go; whole ones print without a fraction.
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    return str(value)


def go_quote(text: str) -> str:
    """Double-quote like Go's `%q`: escapes, but printable Unicode stays readable."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for character in text:
        if character in escapes:
            out.append(escapes[character])
        elif character.isprintable() or character == " ":
            out.append(character)
        elif ord(character) < 0x80:
            out.append(f"\\x{ord(character):02x}")
        elif ord(character) <= 0xFFFF:
            out.append(f"\\u{ord(character):04x}")
        else:
            out.append(f"\\U{ord(character):08x}")
    return '"' + "".join(out) + '"'


def shlex_split(ctx: CommandContext, key: str) -> list[str]:
    """Split an `exeArgs`-style string as a POSIX shell would, as upstream does."""
    text = ctx.optional_string(key)
    try:
        return shlex.split(text)
    except ValueError as error:
        raise ctx.invalid(key, str(error)) from error
