"""When a failed delivery is tried again: exponential backoff with a ceiling (pure)."""

from __future__ import annotations

import datetime as dt


def next_delay(attempts: int, first: dt.timedelta, ceiling: dt.timedelta) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: first, 2 * first, 4 * first, ..."""
    # Capped before multiplying, so that a long outage cannot overflow timedelta.
    exponent = min(max(attempts - 1, 0), 20)
    delay: dt.timedelta = first * 2**exponent
    return min(delay, ceiling)


def gives_up(attempts: int, max_attempts: int) -> bool:
    """Whether a delivery that has failed `attempts` times is failed for good."""
    return attempts >= max_attempts
