"""Render statistics arithmetic: utilisation buckets, estimated end, totals."""

from __future__ import annotations

import datetime as dt

import pytest

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence.render_statistics import TaskRun
from flamenco.manager.render_statistics import reports

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def run(
    start: float,
    end: float | None,
    *,
    worker: str = "w1",
    status: str | None = TaskStatus.COMPLETED,
    queued: float | None = None,
) -> TaskRun:
    return TaskRun(
        task_uuid="t",
        task_name="render",
        task_type="blender",
        job_uuid="j",
        worker_uuid=worker,
        worker_name=worker.upper(),
        queued_at=None if queued is None else at(queued),
        started_at=at(start),
        finished_at=None if end is None else at(end),
        status=status if end is not None else None,
    )


def test_utilisation_splits_runs_over_buckets_and_clips_to_the_period() -> None:
    found = reports.utilisation(
        [run(-30, 90), run(100, None, worker="w2")], at(0), at(180), 60, now=at(150)
    )
    assert found.bucket_starts == [at(0), at(60), at(120)]
    by_worker = {worker.worker_uuid: worker.busy_seconds for worker in found.workers}
    assert by_worker == {"w1": [60, 30, 0], "w2": [0, 20, 30]}  # w2 runs until now
    assert found.busy_workers == pytest.approx([1, 50 / 60, 0.5])
    assert [worker.worker_name for worker in found.workers] == ["W1", "W2"]


def test_utilisation_of_a_period_that_is_no_whole_number_of_buckets() -> None:
    found = reports.utilisation([run(0, 100)], at(0), at(100), 60, now=at(200))
    assert len(found.bucket_starts) == 2
    assert found.workers[0].busy_seconds == [60, 40]


def test_no_estimate_without_a_completed_task_or_for_a_job_that_is_not_running() -> None:
    counts = {TaskStatus.QUEUED: 3, TaskStatus.ACTIVE: 1}
    assert reports.estimate_completion(JobStatus.ACTIVE, counts, [run(0, None)], at(10)) is None
    done = [run(0, 60)]
    assert reports.estimate_completion(JobStatus.PAUSED, counts, done, at(60)) is None
    assert reports.estimate_completion(JobStatus.COMPLETED, counts, done, at(60)) is None


def test_estimate_spreads_the_work_left_over_the_active_workers() -> None:
    runs = [
        run(0, 60),
        run(0, 120, worker="w2"),  # mean of completed runs: 90 s
        run(120, None),  # 30 s into its run: 60 s left
        run(130, None, worker="w2"),  # 20 s in: 70 s left
    ]
    counts = {
        TaskStatus.COMPLETED: 2,
        TaskStatus.ACTIVE: 2,
        TaskStatus.QUEUED: 3,
        TaskStatus.SOFT_FAILED: 1,
    }
    estimate = reports.estimate_completion(JobStatus.ACTIVE, counts, runs, at(150))
    assert estimate is not None
    assert estimate.remaining_seconds == pytest.approx((4 * 90 + 60 + 70) / 2)
    assert estimate.finishes_at == at(150 + estimate.remaining_seconds)


def test_failed_runs_do_not_set_the_pace() -> None:
    runs = [run(0, 10, status=TaskStatus.FAILED), run(10, 110)]
    estimate = reports.estimate_completion(JobStatus.QUEUED, {TaskStatus.QUEUED: 1}, runs, at(110))
    assert estimate is not None and estimate.remaining_seconds == 100


def test_totals_of_a_job_without_statistics() -> None:
    totals = reports.job_totals([], [], at(0))
    assert totals.frames_rendered == 0 and totals.render_seconds_mean is None
    assert totals.queued_seconds_mean is None and totals.running_seconds_total == 0


def test_queue_time_of_runs() -> None:
    totals = reports.job_totals([], [run(30, 60, queued=0), run(50, 60, queued=40)], at(60))
    assert totals.queued_seconds_mean == 20
    assert totals.running_seconds_total == 40
