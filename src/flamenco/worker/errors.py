"""Errors that fail a command, and so its task; their text becomes the failure reason."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """The command could not do its work. `str()` is what the Manager is told."""


class ParameterMissing(CommandError):
    def __init__(self, command: str, parameter: str, parameters: dict[str, Any]) -> None:
        super().__init__(f'{command}: mandatory parameter "{parameter}" is missing: {parameters!r}')
        self.parameter = parameter


class ParameterInvalid(CommandError):
    def __init__(
        self, command: str, parameter: str, parameters: dict[str, Any], message: str
    ) -> None:
        value = parameters.get(parameter)
        super().__init__(
            f'{command}: parameter "{parameter}" has invalid value {value!r}: {message}'
        )
        self.parameter = parameter
        self.value = value
        self.message = message


class UnknownCommand(CommandError):
    def __init__(self, name: str) -> None:
        super().__init__(f'unknown command: "{name}"')
