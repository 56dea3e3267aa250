"""Value formats on the wire: RFC 3339 timestamps as the API sends and reads them."""

from __future__ import annotations

import datetime as dt


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. 2026-01-02T03:04:05.000006Z."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def optional_time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp; naive ones are taken as UTC."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def round_up_to_second(moment: dt.datetime) -> dt.datetime:
    """Round up to a whole second, so a timestamp with sub-second precision still matches."""
    truncated = moment.replace(microsecond=0)
    return truncated if truncated == moment else truncated + dt.timedelta(seconds=1)


def format_duration_words(duration: dt.timedelta) -> str:
    """A duration for people: `45 s`, `12 min`, `2 h 5 min`."""
    seconds = round(duration.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
