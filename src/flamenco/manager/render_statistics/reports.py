"""Pure arithmetic over stored statistics: a job's totals, its estimated end, utilisation."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence.render_statistics import FrameStatistic, TaskRun

SLOWEST_FRAMES = 10
# Statuses of tasks that wait for a Worker before the job can be done.
_WAITING = (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED)
_RUNNING_JOB_STATUSES = (JobStatus.ACTIVE, JobStatus.QUEUED)


def running_seconds(run: TaskRun, now: dt.datetime) -> float:
    end = run.finished_at or now
    return max(0.0, (end - run.started_at).total_seconds())


def queued_seconds(run: TaskRun) -> float | None:
    if run.queued_at is None:
        return None
    return max(0.0, (run.started_at - run.queued_at).total_seconds())


@dataclass(frozen=True, slots=True)
class JobTotals:
    frames_rendered: int
    render_seconds_total: float
    render_seconds_mean: float | None
    render_seconds_median: float | None
    render_seconds_max: float | None
    peak_memory_bytes_max: int | None
    task_runs: int
    running_seconds_total: float
    queued_seconds_mean: float | None


def job_totals(
    frames: Sequence[FrameStatistic], runs: Sequence[TaskRun], now: dt.datetime
) -> JobTotals:
    times = [frame.render_seconds for frame in frames]
    peaks = [frame.peak_memory_bytes for frame in frames if frame.peak_memory_bytes is not None]
    waits = [wait for run in runs if (wait := queued_seconds(run)) is not None]
    return JobTotals(
        frames_rendered=len(frames),
        render_seconds_total=sum(times),
        render_seconds_mean=statistics.fmean(times) if times else None,
        render_seconds_median=statistics.median(times) if times else None,
        render_seconds_max=max(times) if times else None,
        peak_memory_bytes_max=max(peaks) if peaks else None,
        task_runs=len(runs),
        running_seconds_total=sum(running_seconds(run, now) for run in runs),
        queued_seconds_mean=statistics.fmean(waits) if waits else None,
    )


def slowest_frames(
    frames: Sequence[FrameStatistic], count: int = SLOWEST_FRAMES
) -> list[FrameStatistic]:
    return sorted(frames, key=lambda frame: frame.render_seconds, reverse=True)[:count]


@dataclass(frozen=True, slots=True)
class Estimate:
    remaining_seconds: float
    finishes_at: dt.datetime


def estimate_completion(
    job_status: JobStatus,
    task_counts: Mapping[TaskStatus, int],
    runs: Sequence[TaskRun],
    now: dt.datetime,
) -> Estimate | None:
    """When a running job should be done, at the pace its completed tasks set.

    The tasks still to run each take the mean time of the job's completed task
    runs (less what an active one has already run), spread over as many Workers
    as run its tasks now (at least one). None when there is nothing to go by:
    no completed task yet, or a job that is not running.
    """
    if job_status not in _RUNNING_JOB_STATUSES:
        return None
    completed = [running_seconds(run, now) for run in runs if run.status == TaskStatus.COMPLETED]
    if not completed:
        return None
    mean = statistics.fmean(completed)
    waiting = sum(task_counts.get(status, 0) for status in _WAITING)
    active_runs = [run for run in runs if run.finished_at is None]
    work = waiting * mean + sum(max(0.0, mean - running_seconds(run, now)) for run in active_runs)
    parallel = max(1, task_counts.get(TaskStatus.ACTIVE, 0))
    remaining = work / parallel
    return Estimate(remaining, now + dt.timedelta(seconds=remaining))


@dataclass(frozen=True, slots=True)
class WorkerUtilisation:
    worker_uuid: str
    worker_name: str
    # Seconds busy with a task in each bucket.
    busy_seconds: list[float]


@dataclass(frozen=True, slots=True)
class Utilisation:
    since: dt.datetime
    until: dt.datetime
    bucket_seconds: float
    bucket_starts: list[dt.datetime]
    workers: list[WorkerUtilisation]

    @property
    def busy_workers(self) -> list[float]:
        """How many Workers were busy in each bucket, on average."""
        return [
            sum(worker.busy_seconds[index] for worker in self.workers) / self.bucket_seconds
            for index in range(len(self.bucket_starts))
        ]


def utilisation(
    runs: Sequence[TaskRun],
    since: dt.datetime,
    until: dt.datetime,
    bucket_seconds: float,
    now: dt.datetime,
) -> Utilisation:
    """Busy seconds per Worker per bucket of [since, until); runs still open count until now."""
    count = max(1, int(-(-(until - since).total_seconds() // bucket_seconds)))
    starts = [since + dt.timedelta(seconds=bucket_seconds * index) for index in range(count)]
    by_worker: dict[str, WorkerUtilisation] = {}
    for run in runs:
        worker = by_worker.get(run.worker_uuid)
        if worker is None:
            worker = by_worker[run.worker_uuid] = WorkerUtilisation(
                run.worker_uuid, run.worker_name, [0.0] * count
            )
        begin = max(run.started_at, since)
        end = min(run.finished_at or now, until)
        if end <= begin:
            continue
        first = int((begin - since).total_seconds() // bucket_seconds)
        last = min(count - 1, int((end - since).total_seconds() // bucket_seconds))
        for index in range(first, last + 1):
            bucket_begin = starts[index]
            bucket_end = bucket_begin + dt.timedelta(seconds=bucket_seconds)
            overlap = (min(end, bucket_end) - max(begin, bucket_begin)).total_seconds()
            if overlap > 0:
                worker.busy_seconds[index] += overlap
    workers = sorted(
        by_worker.values(), key=lambda worker: (worker.worker_name, worker.worker_uuid)
    )
    return Utilisation(since, until, bucket_seconds, starts, workers)
