"""Progress reports queued at any moment of a batch's life get saved and answered."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from flamenco.manager.persistence.jobs import ProgressReport
from flamenco.manager.services.progress_reports import ProgressReports

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


class InstantDatabase:
    """Answers each write after a few turns of the event loop, as a real one would
    after its thread hop, and records what it saved."""

    def __init__(self, turns: random.Random) -> None:
        self._turns = turns
        self.saved: list[str] = []

    async def write(self, fn: Callable[..., Any], **_: Any) -> list[tuple[str, int]]:
        for _ in range(self._turns.randint(0, 2)):
            await asyncio.sleep(0)
        reports: list[ProgressReport] = fn.keywords["reports"]  # type: ignore[attr-defined]
        self.saved += [report.task_uuid for report in reports]
        return [("saved", 1) for _ in reports]


def report(number: int) -> ProgressReport:
    return ProgressReport(
        task_uuid=f"task-{number}",
        worker_uuid=f"worker-{number}",
        activity="rendering",
        now=NOW,
        progressed=True,
    )


async def test_every_report_is_answered_whenever_it_arrives() -> None:
    # Reports arrive in waves of one to four, a few loop turns apart, so that some
    # arrive just as both writers have found nothing left to save. Such a report once
    # waited, unsaved and unanswered, for the next report to come; each wave waits
    # for its answers before the next is sent, so with this seed wave 56 never ended.
    turns = random.Random(1)
    db = InstantDatabase(turns)
    reports = ProgressReports(db)  # type: ignore[arg-type]
    sent = 0
    for _wave in range(2_000):
        waiting = []
        for _ in range(turns.randint(1, 4)):
            waiting.append(asyncio.ensure_future(reports.record(report(sent))))
            sent += 1
            for _ in range(turns.randint(0, 2)):
                await asyncio.sleep(0)
        answers = await asyncio.wait_for(asyncio.gather(*waiting), timeout=5)
        assert answers == [("saved", 1)] * len(waiting)
    assert sorted(db.saved) == sorted(f"task-{number}" for number in range(sent))
