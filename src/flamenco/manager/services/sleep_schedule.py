"""Pure sleep-schedule rules: which status a schedule asks for now, and when to look again."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flamenco.api.enums import WorkerStatus
from flamenco.manager.errors import RequestRefused

DAY_NAMES = ("mo", "tu", "we", "th", "fr", "sa", "su")
# Upstream's skip list: a Worker in error keeps its status until someone looks at it.
UNTOUCHED_STATUSES = frozenset({WorkerStatus.ERROR})
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleInvalid(RequestRefused):
    """The sleep schedule makes no sense."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A Worker's sleep schedule, in the Manager's local time."""

    is_active: bool
    days_of_week: str  # Normalised: "mo tu we", or "" for every day.
    start_time: str  # "HH:MM", or "" for "from midnight".
    end_time: str  # "HH:MM", or "" for "until midnight".

    @classmethod
    def parse(
        cls, *, is_active: bool, days_of_week: str, start_time: str, end_time: str
    ) -> Schedule:
        """Check and normalise a schedule as a user entered it; raises ScheduleInvalid."""
        days = []
        for word in days_of_week.lower().split():
            day = word[:2]
            if day not in DAY_NAMES:
                raise ScheduleInvalid(f"{word!r} is not a day of the week like mo, tu, ... su")
            if day not in days:
                days.append(day)
        start, end = (
            _normalise_time(start_time, "start_time"),
            _normalise_time(end_time, "end_time"),
        )
        if start and end and end < start:
            # As upstream: a schedule from 18:00 to 09:00 means 09:00 to 18:00.
            start, end = end, start
        return cls(is_active=is_active, days_of_week=" ".join(days), start_time=start, end_time=end)

    def applies_on(self, day: dt.date) -> bool:
        return not self.days_of_week or DAY_NAMES[day.weekday()] in self.days_of_week.split()

    def status_at(self, moment: dt.datetime) -> WorkerStatus:
        """The status the schedule asks for at this local time."""
        if not self.is_active or not self.applies_on(moment.date()):
            return WorkerStatus.AWAKE
        now = moment.strftime("%H:%M")
        after_start = not self.start_time or self.start_time <= now
        before_end = not self.end_time or now < self.end_time
        return WorkerStatus.ASLEEP if after_start and before_end else WorkerStatus.AWAKE

    def next_check(self, moment: dt.datetime) -> dt.datetime:
        """The next moment the scheduled status may change: midnight, start or end."""
        midnight = (moment + dt.timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        candidates = [midnight]
        for text in (self.start_time, self.end_time):
            if text:
                hours, minutes = (int(part) for part in text.split(":"))
                at = moment.replace(hour=hours, minute=minutes, second=0, microsecond=0)
                if at > moment:
                    candidates.append(at)
        return min(candidates)


def request_to_apply(
    *,
    status: WorkerStatus,
    requested: WorkerStatus | None,
    lazy: bool,
    scheduled: WorkerStatus,
) -> WorkerStatus | None:
    """The status request a schedule puts on a Worker, or None to leave the Worker be.

    As upstream's ApplySleepSchedule: Workers in a skipped status are left alone, and so
    are Workers already in the scheduled status with nothing pending, or already asked
    to go there without waiting for their task. Anything else, a lazy request for the
    same status included, gets a non-lazy request for the scheduled status.
    """
    if status in UNTOUCHED_STATUSES:
        return None
    if requested == scheduled and not lazy:
        return None
    if status == scheduled and requested is None:
        return None
    return scheduled


def _normalise_time(text: str, key: str) -> str:
    text = text.strip()
    if not text:
        return ""
    match = _TIME_OF_DAY.match(text)
    if match is None:
        raise ScheduleInvalid(f"{key}: {text!r} is not a time of day like 09:00")
    return f"{int(match.group(1)):02d}:{match.group(2)}"
