"""Slowing down password guessing: a limited number of failed logins per client address."""

from __future__ import annotations

import collections
import datetime as dt

from flamenco.clock import Clock

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=5)
# Addresses remembered at most, so that a flood of addresses cannot grow the Manager.
MAX_ADDRESSES = 10_000


class LoginThrottle:
    """Counts failed logins per client address over a sliding window (per Manager process)."""

    def __init__(
        self, clock: Clock, *, max_failures: int = MAX_FAILURES, window: dt.timedelta = WINDOW
    ):
        self._clock = clock
        self._max_failures = max_failures
        self._window = window
        self._failures: collections.OrderedDict[str, list[dt.datetime]] = collections.OrderedDict()

    def retry_after(self, address: str) -> float | None:
        """Seconds until the address may try again; None when it may now."""
        recent = self._recent(address)
        if len(recent) < self._max_failures:
            return None
        return max(1.0, (recent[0] + self._window - self._clock.now()).total_seconds())

    def failed(self, address: str) -> None:
        recent = self._recent(address)
        recent.append(self._clock.now())
        self._failures[address] = recent
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str) -> list[dt.datetime]:
        since = self._clock.now() - self._window
        return [moment for moment in self._failures.get(address, []) if moment > since]
