"""Hand-written fakes for tests: a clock that only moves when told to."""

from __future__ import annotations

import asyncio
import datetime as dt


class FakeClock:
    """A clock for tests: `now()` is fixed until `advance()`; `sleep()` waits for advances."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        self._moved = asyncio.Event()

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta | float) -> None:
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        self._now += delta
        self._moved.set()

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + dt.timedelta(seconds=seconds)
        while self._now < deadline:
            self._moved.clear()
            await self._moved.wait()
