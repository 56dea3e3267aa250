"""Hand-written fakes for unit tests: a clock that only moves when told to."""

from __future__ import annotations

import asyncio
import datetime as dt


class FakeClock:
    """A clock for tests: `now()` is fixed until `advance()`; `sleep()` waits for advances."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        self._changed = asyncio.Condition()

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta | float) -> None:
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        self._now += delta

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + dt.timedelta(seconds=seconds)
        while self._now < deadline:
            await asyncio.sleep(0.001)
