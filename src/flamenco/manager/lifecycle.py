"""How a running Manager asks whoever runs it to stop, or to restart with a new configuration."""

from __future__ import annotations

import asyncio
import enum

# Long enough for the HTTP answer that asked for the restart to reach its client.
RESTART_DELAY_SECONDS = 0.5


class Ending(enum.Enum):
    STOP = "stop"
    RESTART = "restart"
    FAILURE = "failure"


class Lifecycle:
    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.ending = Ending.STOP

    def _end(self, ending: Ending) -> None:
        if not self.ended.is_set():
            self.ending = ending
            self.ended.set()

    def fail(self) -> None:
        """A background service died: the Manager must not run on half-working."""
        self._end(Ending.FAILURE)

    def request(self) -> None:
        """Restart soon, reading the configuration again, in the same process."""
        asyncio.get_running_loop().call_later(RESTART_DELAY_SECONDS, self._end, Ending.RESTART)
