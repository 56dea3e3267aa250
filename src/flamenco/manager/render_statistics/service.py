"""Answers questions about render statistics: per job, per Worker, for the whole farm."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flamenco.clock import Clock
from flamenco.manager.persistence import Database, errors, jobs, render_statistics
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.render_statistics import FrameStatistic, TaskRun
from flamenco.manager.render_statistics import reports
from flamenco.manager.render_statistics.recorder import FrameRecorder


@dataclass(frozen=True, slots=True)
class JobStatistics:
    job_uuid: str
    frames: list[FrameStatistic]
    runs: list[TaskRun]
    totals: reports.JobTotals
    slowest_frames: list[FrameStatistic]
    estimate: reports.Estimate | None


class StatisticsUnknown(errors.NotFound):
    """Neither the job exists nor are there statistics of it."""


class RenderStatistics:
    def __init__(self, db: Database, clock: Clock, *, recorder: FrameRecorder | None) -> None:
        self._db = db
        self._clock = clock
        self._recorder = recorder

    @property
    def enabled(self) -> bool:
        """Whether this Manager records statistics (the render_statistics setting)."""
        return self._recorder is not None

    def now(self) -> dt.datetime:
        return self._clock.now()

    async def job(self, job_uuid: str) -> JobStatistics:
        """Raises StatisticsUnknown for a job that neither exists nor left statistics."""
        if self._recorder is not None:
            # This process's frames read but not yet stored; other processes' follow soon.
            await self._recorder.flush()
        now = self._clock.now()

        def read(conn: Connection) -> JobStatistics:
            frames = render_statistics.fetch_job_frames(conn, job_uuid)
            runs = render_statistics.fetch_job_task_runs(conn, job_uuid)
            try:
                job = jobs.fetch_job(conn, job_uuid)
            except errors.JobNotFound:
                if not frames and not runs:
                    raise StatisticsUnknown(f"job {job_uuid} not found") from None
                estimate = None  # deleted, so finished
            else:
                counts = jobs.count_tasks_by_status(conn, job.id)
                estimate = reports.estimate_completion(job.status, counts, runs, now)
            return JobStatistics(
                job_uuid=job_uuid,
                frames=frames,
                runs=runs,
                totals=reports.job_totals(frames, runs, now),
                slowest_frames=reports.slowest_frames(frames),
                estimate=estimate,
            )

        return await self._db.read(read)

    async def utilisation(
        self,
        since: dt.datetime,
        until: dt.datetime,
        bucket_seconds: float,
        worker_uuid: str | None = None,
    ) -> reports.Utilisation:
        now = self._clock.now()
        runs = await self._db.read(
            lambda conn: render_statistics.fetch_task_runs_between(conn, since, until, worker_uuid)
        )
        return reports.utilisation(runs, since, until, bucket_seconds, now)
