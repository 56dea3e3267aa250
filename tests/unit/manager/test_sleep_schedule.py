"""Sleep-schedule rules: parsing, the status at a given time, and the next check."""

from __future__ import annotations

import datetime as dt

import pytest

from flamenco.api.enums import WorkerStatus
from flamenco.manager.services.sleep_schedule import Schedule, ScheduleInvalid, request_to_apply

MONDAY = dt.datetime(2026, 1, 5, 12, 30)  # A Monday, local time.


def schedule(days: str = "", start: str = "", end: str = "", active: bool = True) -> Schedule:
    return Schedule.parse(is_active=active, days_of_week=days, start_time=start, end_time=end)


def test_parse_normalises_days_and_times() -> None:
    parsed = schedule(days="Monday tue  mo SUNDAY", start="9:05", end="18:00")
    assert parsed.days_of_week == "mo tu su"
    assert parsed.start_time == "09:05"


def test_parse_swaps_start_and_end() -> None:
    parsed = schedule(start="18:00", end="09:00")
    assert (parsed.start_time, parsed.end_time) == ("09:00", "18:00")


@pytest.mark.parametrize(
    ("days", "start", "end", "problem"),
    [
        ("xx", "", "", "not a day of the week"),
        ("", "25:00", "", "start_time"),
        ("", "", "9am", "end_time"),
    ],
)
def test_parse_rejects_nonsense(days: str, start: str, end: str, problem: str) -> None:
    with pytest.raises(ScheduleInvalid, match=problem):
        schedule(days=days, start=start, end=end)


@pytest.mark.parametrize(
    ("days", "start", "end", "moment", "expected"),
    [
        ("", "09:00", "18:00", MONDAY, WorkerStatus.ASLEEP),
        ("", "09:00", "12:30", MONDAY, WorkerStatus.AWAKE),  # The end is exclusive.
        ("", "12:30", "", MONDAY, WorkerStatus.ASLEEP),  # No end: until midnight.
        ("", "", "08:00", MONDAY, WorkerStatus.AWAKE),
        ("tu we", "09:00", "18:00", MONDAY, WorkerStatus.AWAKE),  # Not today.
        ("mo", "", "", MONDAY, WorkerStatus.ASLEEP),  # All day Monday.
    ],
)
def test_status_at(
    days: str, start: str, end: str, moment: dt.datetime, expected: WorkerStatus
) -> None:
    assert schedule(days=days, start=start, end=end).status_at(moment) == expected


def test_inactive_schedule_keeps_workers_awake() -> None:
    assert schedule(start="00:00", active=False).status_at(MONDAY) == WorkerStatus.AWAKE


def test_next_check_is_the_next_boundary() -> None:
    daytime = schedule(start="09:00", end="18:00")
    assert daytime.next_check(MONDAY) == MONDAY.replace(hour=18, minute=0)
    assert daytime.next_check(MONDAY.replace(hour=19)) == dt.datetime(2026, 1, 6, 0, 0)
    assert daytime.next_check(MONDAY.replace(hour=7)) == MONDAY.replace(hour=9, minute=0)


AWAKE, ASLEEP, OFFLINE = WorkerStatus.AWAKE, WorkerStatus.ASLEEP, WorkerStatus.OFFLINE
ERROR, STARTING = WorkerStatus.ERROR, WorkerStatus.STARTING


@pytest.mark.parametrize(
    ("status", "requested", "lazy", "scheduled", "expected"),
    [
        # Upstream's TestApplySleepSchedule: an offline Worker is asked, for its next sign-on.
        (OFFLINE, None, False, ASLEEP, ASLEEP),
        (OFFLINE, None, False, AWAKE, AWAKE),
        # A lazy request for the scheduled status becomes an immediate one.
        (AWAKE, ASLEEP, True, ASLEEP, ASLEEP),
        # Another pending request is overruled.
        (AWAKE, OFFLINE, False, ASLEEP, ASLEEP),
        (STARTING, AWAKE, False, ASLEEP, ASLEEP),
        # Upstream's TestApplySleepScheduleNoStatusChange: already there, already asked,
        # or in error (the skip list).
        (ASLEEP, None, False, ASLEEP, None),
        (AWAKE, ASLEEP, False, ASLEEP, None),
        (ERROR, None, False, ASLEEP, None),
        (ERROR, None, False, AWAKE, None),
        # Already in the scheduled status but asked to leave it: asked to stay instead.
        (ASLEEP, AWAKE, True, ASLEEP, ASLEEP),
    ],
)
def test_request_to_apply(
    status: WorkerStatus,
    requested: WorkerStatus | None,
    lazy: bool,
    scheduled: WorkerStatus,
    expected: WorkerStatus | None,
) -> None:
    assert (
        request_to_apply(status=status, requested=requested, lazy=lazy, scheduled=scheduled)
        == expected
    )
