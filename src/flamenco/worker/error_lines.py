"""The lines of a command's output that say why it failed, kept for the task's failure reason."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable

ErrorLineTest = Callable[[str], bool]

# Enough for an error and what led to it (a Python exception and Blender's "script
# failed" line, or FFmpeg's cause and its consequence), short enough for a table cell.
KEEP_LINES = 3
MAX_LINE_CHARACTERS = 300
SEPARATOR = " | "

_GENERIC_ERROR = re.compile(
    r"error|fatal|exception|fail|cannot|can't|unable|not found|no such|denied|invalid",
    re.IGNORECASE,
)


def looks_like_error(line: str) -> bool:
    """For programs we know nothing about: a line with one of the usual words for trouble."""
    return _GENERIC_ERROR.search(line) is not None


def shorten(line: str, limit: int = MAX_LINE_CHARACTERS) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ErrorLines:
    """The last few error lines of a command's output, and its last line as a fallback.

    A program that fails without an error line of its own usually still says
    something useful last (a crash report's path, a stack frame); lines in
    `uninformative` (Blender's "Blender quit", FFmpeg's "Conversion failed!")
    are never that last line.
    """

    def __init__(
        self,
        is_error: ErrorLineTest = looks_like_error,
        *,
        uninformative: frozenset[str] = frozenset(),
        keep: int = KEEP_LINES,
    ) -> None:
        self._is_error = is_error
        self._uninformative = uninformative
        self._errors: deque[str] = deque(maxlen=keep)
        self._last_line = ""

    def feed(self, lines: Iterable[str]) -> None:
        for raw in lines:
            # The test sees the indentation, which sets details apart from messages.
            line = raw.rstrip()
            text = line.lstrip()
            if not text or text in self._uninformative:
                continue
            self._last_line = text
            if self._is_error(line):
                self._errors.append(shorten(text))

    def summary(self) -> str:
        """What the output said went wrong, oldest first; empty when it said nothing."""
        if self._errors:
            return SEPARATOR.join(self._errors)
        return shorten(self._last_line)
