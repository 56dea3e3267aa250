"""Progress reports that arrive together are saved together, in one write for a batch.

Most of what Workers send says only "still at it", with a log line: it touches the
task and marks the Worker seen. Saved one by one, each report costs a thread hop
and a round trip to the database; saved in batches, a busy farm pays those once
per batch (one statement on PostgreSQL, three on SQLite: see
jobs.record_progress_many). Under
light load a report is written at once, so waiting for a batch adds no delay.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from flamenco.manager.persistence import Database, jobs
from flamenco.manager.persistence.jobs import ProgressOutcome, ProgressReport
from flamenco.manager.persistence.models import TaskRef

# Writes in flight at once: more would only take connections from other requests.
WRITES_IN_FLIGHT = 2
MAX_REPORTS_PER_WRITE = 64


@dataclass(frozen=True, slots=True)
class _Waiting:
    report: ProgressReport
    future: asyncio.Future[tuple[TaskRef, int]]


class ProgressReports:
    """Saves progress reports in batches; each caller gets its own report's outcome."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[_Waiting] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def record(self, report: ProgressReport) -> tuple[TaskRef, int]:
        """Save the report; return what jobs.record_progress() does, or raise its error."""
        future: asyncio.Future[tuple[TaskRef, int]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(report, future))
        # done(), not len(): a writer that found nothing left has returned, but its
        # done callback takes it out of the set only at the loop's next turn. Counted
        # meanwhile, two such writers kept a report from getting a writer: it waited,
        # unsaved and unanswered, until another report came to this process.
        if sum(not writer.done() for writer in self._writers) < WRITES_IN_FLIGHT:
            writer = asyncio.create_task(self._write_waiting(), name="progress-reports")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _write_waiting(self) -> None:
        while batch := self._take_batch():
            reports = [waiting.report for waiting in batch]
            try:
                outcomes = await self._db.write(
                    functools.partial(jobs.record_progress_many, reports=reports),
                    one_statement=True,
                    retry=True,
                )
            except Exception as error:
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(error)
                continue
            for waiting, outcome in zip(batch, outcomes, strict=True):
                _settle(waiting.future, outcome)

    def _take_batch(self) -> list[_Waiting]:
        """The first reports waiting, at most one per task and one per Worker.

        A second report on the same task or from the same Worker waits for the next
        batch, so that a batch never updates a row twice.
        """
        batch: list[_Waiting] = []
        later: list[_Waiting] = []
        tasks: set[str] = set()
        senders: set[str] = set()
        for waiting in self._waiting:
            report = waiting.report
            if (
                len(batch) >= MAX_REPORTS_PER_WRITE
                or report.task_uuid in tasks
                or report.worker_uuid in senders
            ):
                later.append(waiting)
                continue
            batch.append(waiting)
            tasks.add(report.task_uuid)
            senders.add(report.worker_uuid)
        self._waiting = later
        return batch


def _settle(future: asyncio.Future[tuple[TaskRef, int]], outcome: ProgressOutcome) -> None:
    if future.done():  # The request went away; its report is saved all the same.
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
