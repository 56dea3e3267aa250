"""Gathering a task's log lines into chunks, and deciding when a chunk is due to be sent."""

from __future__ import annotations

from collections.abc import Iterable

from flamenco.clock import Clock

# Upstream sends at 10 KiB or after 30 s. We send at least four times a second so
# that a line reaches the Manager well within a second, and in bigger chunks when
# a command is chatty, so that 10,000 lines a second cost a few requests, not hundreds.
DEFAULT_MAX_AGE = 0.25
DEFAULT_MAX_CHARACTERS = 256 * 1024


class LogChunker:
    """Buffers the log text of one task. Not thread-safe; the event loop is its only user."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        max_characters: int = DEFAULT_MAX_CHARACTERS,
    ) -> None:
        self._clock = clock
        self._max_age = max_age
        self._max_characters = max_characters
        self._pieces: list[str] = []
        self._characters = 0
        self._first_at = 0.0

    def _now(self) -> float:
        return self._clock.now().timestamp()

    @property
    def empty(self) -> bool:
        return not self._pieces

    @property
    def characters(self) -> int:
        return self._characters

    def append(self, text: str) -> None:
        """Add text of one or more lines; a line break is added after it."""
        self.append_lines((text,))

    def append_lines(self, lines: Iterable[str]) -> None:
        if not self._pieces:
            self._first_at = self._now()
        before = len(self._pieces)
        self._pieces.extend(lines)
        added = self._pieces[before:]
        # One line break per line, counted here so take() needs no second pass.
        self._characters += sum(map(len, added)) + len(added)

    def over_size(self) -> bool:
        return self._characters >= self._max_characters

    def seconds_until_due(self) -> float | None:
        """None when there is nothing to send; 0 when a chunk is due now."""
        if not self._pieces:
            return None
        if self.over_size():
            return 0.0
        return max(0.0, self._first_at + self._max_age - self._now())

    def due(self) -> bool:
        remaining = self.seconds_until_due()
        return remaining is not None and remaining <= 0.0

    def take(self) -> str:
        """Everything gathered so far, each line ending in a line break; the buffer empties."""
        if not self._pieces:
            return ""
        text = "\n".join(self._pieces) + "\n"
        self._pieces = []
        self._characters = 0
        return text
