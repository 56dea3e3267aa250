"""Go duration strings (`10m0s`, `1.5h`, `300ms`): parsing and formatting them as Go does."""

from __future__ import annotations

import datetime
import logging

logger = logging.getLogger(__name__)

# Nanoseconds per unit, keyed by the unit suffixes Go's time.ParseDuration knows.
# Both micro signs are accepted: U+00B5 (MICRO SIGN) and U+03BC (GREEK SMALL MU).
_UNIT_NANOSECONDS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 60 * 60 * 1_000_000_000,
}

# A Go time.Duration is an int64 of nanoseconds; anything outside is an overflow there.
_MAX_NANOSECONDS = 2**63 - 1
_MIN_NANOSECONDS = -(2**63)

_NANOSECONDS_PER_MICROSECOND = 1_000
_EXAMPLE = "like 10m0s"
_UNIT_HINT = "use one of the units ns, us, ms, s, m, h"


class DurationError(ValueError):
    """A text is not a Go duration; `reason` says why in a few words, without the text."""

    def __init__(self, text: object, reason: str) -> None:
        super().__init__(f"{text!r} is not a duration {_EXAMPLE}: {reason}")
        self.text = text
        self.reason = reason


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration string into a whole number of nanoseconds.

    Accepts exactly what Go's `time.ParseDuration` accepts: an optional sign,
    then one or more decimal numbers each followed by a unit (`ns`, `us`/`µs`,
    `ms`, `s`, `m`, `h`), or the bare string `0`. Raises DurationError.
    """
    if not isinstance(text, str):
        raise DurationError(text, f"it must be text, not {type(text).__name__}")

    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]

    # Go special-cases a unitless zero; every other number needs a unit.
    if rest == "0":
        return 0
    if rest == "":
        raise DurationError(text, "there is no number")

    total = 0
    while rest:
        whole, rest = _take_digits(rest)
        fraction = ""
        if rest.startswith("."):
            fraction, rest = _take_digits(rest[1:])
            if not whole and not fraction:
                raise DurationError(text, "a lone '.' is not a number")
        elif not whole:
            raise DurationError(text, f"expected a number at {rest!r}")

        unit_end = 0
        while unit_end < len(rest) and rest[unit_end] != "." and not _is_digit(rest[unit_end]):
            unit_end += 1
        unit, rest = rest[:unit_end], rest[unit_end:]
        if not unit:
            raise DurationError(text, f"{_UNIT_HINT} after the number")
        unit_ns = _UNIT_NANOSECONDS.get(unit)
        if unit_ns is None:
            raise DurationError(text, f"unknown unit {unit!r}; {_UNIT_HINT}")

        # Integer arithmetic keeps `0.1s` exact; Go truncates sub-nanosecond remainders too.
        part = int(whole or "0") * unit_ns
        if fraction:
            part += int(fraction) * unit_ns // 10 ** len(fraction)
        total += part
        if total > _MAX_NANOSECONDS + (1 if negative else 0):
            raise DurationError(text, "it is too long (the limit is about 292 years)")

    return -total if negative else total


def _is_digit(character: str) -> bool:
    # str.isdigit() also accepts other scripts' digits, which Go does not.
    return "0" <= character <= "9"


def _take_digits(text: str) -> tuple[str, str]:
    """Split `text` into its leading ASCII digits and the rest."""
    end = 0
    while end < len(text) and _is_digit(text[end]):
        end += 1
    return text[:end], text[end:]


def parse_duration(text: str) -> datetime.timedelta:
    """Parse a Go duration string like `10m0s` or `1.5h` into a timedelta.

    timedelta has microsecond resolution, so nanoseconds are rounded to the
    nearest microsecond (half away from zero). Raises ValueError with a message
    meant for humans when `text` is not a valid Go duration.
    """
    nanoseconds = parse_duration_ns(text)
    microseconds, remainder = divmod(abs(nanoseconds), _NANOSECONDS_PER_MICROSECOND)
    if remainder * 2 >= _NANOSECONDS_PER_MICROSECOND:
        microseconds += 1
    return datetime.timedelta(microseconds=-microseconds if nanoseconds < 0 else microseconds)


def format_duration_ns(nanoseconds: int) -> str:
    """Format nanoseconds exactly as Go's `time.Duration.String()` does."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    magnitude = abs(nanoseconds)

    # Under one second Go switches to the largest unit that keeps the number >= 1.
    if magnitude < 1_000:
        return f"{sign}{magnitude}ns"
    if magnitude < 1_000_000:
        return f"{sign}{_decimal(magnitude, 3)}µs"
    if magnitude < 1_000_000_000:
        return f"{sign}{_decimal(magnitude, 6)}ms"

    whole_seconds, fraction = divmod(magnitude, 1_000_000_000)
    seconds_text = f"{whole_seconds % 60}{_fraction_digits(fraction, 9)}s"
    total_minutes = whole_seconds // 60
    if total_minutes == 0:
        return f"{sign}{seconds_text}"
    hours, minutes = divmod(total_minutes, 60)
    if hours == 0:
        return f"{sign}{minutes}m{seconds_text}"
    return f"{sign}{hours}h{minutes}m{seconds_text}"


def _decimal(value: int, decimals: int) -> str:
    """`value / 10**decimals` printed without trailing zeros, as Go's fmtFrac does."""
    whole, fraction = divmod(value, 10**decimals)
    return f"{whole}{_fraction_digits(fraction, decimals)}"


def _fraction_digits(fraction: int, decimals: int) -> str:
    """The '.123' part for a fraction of `decimals` digits; empty when it is zero."""
    if fraction == 0:
        return ""
    return "." + f"{fraction:0{decimals}d}".rstrip("0")


def format_duration(duration: datetime.timedelta) -> str:
    """Format a timedelta exactly as Go's `time.Duration.String()` would (`10m0s`, `1.5s`)."""
    microseconds = duration // datetime.timedelta(microseconds=1)
    return format_duration_ns(microseconds * _NANOSECONDS_PER_MICROSECOND)
