"""Tests for flamenco.durations: Go's time.ParseDuration and Duration.String(), in Python."""

from __future__ import annotations

import datetime

import pytest

from flamenco import durations

SECOND = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("-0", 0),
        ("+0", 0),
        ("0s", 0),
        ("10m0s", 10 * 60 * SECOND),
        ("1h", 3600 * SECOND),
        ("30s", 30 * SECOND),
        ("60s", 60 * SECOND),
        ("1m", 60 * SECOND),
        ("1h30m", 5400 * SECOND),
        ("1.5h", 5400 * SECOND),
        ("-1.5h", -5400 * SECOND),
        ("+5s", 5 * SECOND),
        ("300ms", 300_000_000),
        ("2us", 2_000),
        ("2µs", 2_000),  # U+00B5 MICRO SIGN
        ("2μs", 2_000),  # U+03BC GREEK SMALL LETTER MU
        ("7ns", 7),
        (".5s", SECOND // 2),
        ("5.s", 5 * SECOND),
        ("1h2m3.5s", 3723 * SECOND + SECOND // 2),
        ("3m3m", 6 * 60 * SECOND),
        ("0.1s", SECOND // 10),
        ("744h0m0s", 744 * 3600 * SECOND),
        ("24h0m0s", 24 * 3600 * SECOND),
        ("9223372036854775807ns", 2**63 - 1),
        ("-9223372036854775808ns", -(2**63)),
    ],
)
def test_parse_duration_ns_accepts_go_syntax(text: str, nanoseconds: int) -> None:
    assert durations.parse_duration_ns(text) == nanoseconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "there is no number"),
        ("-", "there is no number"),
        ("1", "use one of the units ns, us, ms, s, m, h after the number"),
        ("00", "after the number"),
        ("0.0", "after the number"),
        ("1d", "unknown unit 'd'"),
        ("10 m", "unknown unit ' m'"),
        (".s", "a lone '.' is not a number"),
        ("ten minutes", "expected a number at 'ten minutes'"),
        ("s", "expected a number at 's'"),
        (" 1s", "expected a number"),
        ("1e3s", "unknown unit 'e'"),
        ("9223372036854775808ns", "too long"),
        ("3000000h", "too long"),
    ],
)
def test_parse_duration_rejects_with_clear_message(text: str, reason: str) -> None:
    with pytest.raises(durations.DurationError) as raised:
        durations.parse_duration(text)
    assert reason in raised.value.reason
    assert str(raised.value).startswith(f"{text!r} is not a duration like 10m0s: ")


def test_parse_duration_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="must be text, not int"):
        durations.parse_duration(600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m0s", datetime.timedelta(minutes=10)),
        ("1.5h", datetime.timedelta(hours=1, minutes=30)),
        ("-30s", datetime.timedelta(seconds=-30)),
        ("300ms", datetime.timedelta(milliseconds=300)),
        ("2us", datetime.timedelta(microseconds=2)),
        # Microsecond resolution: nanoseconds round to the nearest microsecond.
        ("1499ns", datetime.timedelta(microseconds=1)),
        ("1500ns", datetime.timedelta(microseconds=2)),
        ("-1500ns", datetime.timedelta(microseconds=-2)),
        ("1ns", datetime.timedelta(0)),
    ],
)
def test_parse_duration_returns_timedelta(text: str, expected: datetime.timedelta) -> None:
    assert durations.parse_duration(text) == expected


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_000, "1µs"),
        (1_500, "1.5µs"),
        (2_000, "2µs"),
        (300_000_000, "300ms"),
        (1_100_000, "1.1ms"),
        (SECOND, "1s"),
        (SECOND + SECOND // 2, "1.5s"),
        (60 * SECOND, "1m0s"),
        (90 * SECOND, "1m30s"),
        (10 * 60 * SECOND, "10m0s"),
        (3600 * SECOND, "1h0m0s"),
        (3 * 3600 * SECOND, "3h0m0s"),
        (24 * 3600 * SECOND, "24h0m0s"),
        (744 * 3600 * SECOND, "744h0m0s"),
        (3723 * SECOND + 1, "1h2m3.000000001s"),
        (-5400 * SECOND, "-1h30m0s"),
        (-1, "-1ns"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_format_duration_ns_matches_go_string(nanoseconds: int, expected: str) -> None:
    assert durations.format_duration_ns(nanoseconds) == expected


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (datetime.timedelta(0), "0s"),
        (datetime.timedelta(minutes=10), "10m0s"),
        (datetime.timedelta(minutes=1), "1m0s"),
        (datetime.timedelta(days=31), "744h0m0s"),
        (datetime.timedelta(seconds=1.5), "1.5s"),
        (datetime.timedelta(milliseconds=300), "300ms"),
        (datetime.timedelta(microseconds=2), "2µs"),
        (datetime.timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format_duration(duration: datetime.timedelta, expected: str) -> None:
    assert durations.format_duration(duration) == expected


@pytest.mark.parametrize("text", ["10m0s", "1h0m0s", "1.5s", "300ms", "2µs", "744h0m0s", "-1m30s"])
def test_round_trip_of_formatted_durations(text: str) -> None:
    assert durations.format_duration(durations.parse_duration(text)) == text
