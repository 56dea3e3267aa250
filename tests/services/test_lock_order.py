"""Worker requests racing the timeout checker on one job lose no race to a deadlock."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.persistence import Connection
from support.fakes import FakeClock
from support.jobs import blender_render_job
from support.manager import run_manager
from support.worker_session import WorkerSession

WORKERS = 24


def _counted_and_kept(conn: Connection) -> tuple[dict[Any, Any], dict[Any, Any]]:
    raw: Any = conn.raw  # type: ignore[attr-defined]
    counted = dict(
        ((job_id, status), number)
        for job_id, status, number in raw.execute(
            "SELECT job_id, status, count(*) FROM tasks GROUP BY job_id, status"
        )
    )
    kept = dict(
        ((job_id, status), number)
        for job_id, status, number in raw.execute(
            "SELECT job_id, status, num_tasks FROM job_task_counts WHERE num_tasks > 0"
        )
    )
    return counted, kept


async def _call_in(
    number: int, worker: WorkerSession, task: dict[str, Any], few_at_once: asyncio.Semaphore
) -> int:
    """Every other Worker asks for work (getting its task again); the others finish theirs."""
    async with few_at_once:
        if number % 2:
            reply = await worker.schedule()
        else:
            reply = await worker.update(task["uuid"], expect=None, taskStatus="completed")
    return reply.status


async def test_silent_workers_time_out_while_they_ask_for_work_and_finish_tasks(
    make_manager_config: ConfigMaker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The timeout checker goes through many Workers of one job while they all call in.

    Each Worker that calls in first is seen and keeps its task; each that the checker
    gets to first is in error and its task requeued. On PostgreSQL every transaction
    locks rows in one order (a Worker, then its task, then the job), so none waits for
    a lock that a transaction waiting for it holds, and PostgreSQL fails none.
    """
    settings = make_manager_config(task_timeout="0s", worker_timeout="1m0s")
    async for running in run_manager(settings, clock=clock):
        client = running.client
        racers = [WorkerSession(client, name=f"racer-{n:02d}") for n in range(WORKERS)]
        for worker in racers:
            await worker.start()
        job = blender_render_job(frames=f"1-{WORKERS}", chunk_size=1)
        await client.post("/api/v3/jobs", json_body=job, expect=200)
        tasks = [await worker.next_task() for worker in racers]

        clock.advance(dt.timedelta(seconds=61))
        # The checker goes through the Workers in the order they came; they call in the
        # other way round, a few at a time, so that the two meet halfway.
        few_at_once = asyncio.Semaphore(4)
        calls = [
            _call_in(number, racers[number], tasks[number], few_at_once)
            for number in reversed(range(WORKERS))
        ]
        with caplog.at_level(logging.INFO, logger="flamenco.manager.persistence"):
            _, *answers = await asyncio.gather(running.app[keys.TIMEOUT_CHECKER].check(), *calls)
        answers.reverse()

        lost = [r.getMessage() for r in caplog.records if "lost a race" in r.getMessage()]
        assert lost == []
        for number, (worker, answer) in enumerate(zip(racers, answers, strict=True)):
            reply = await client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
            timed_out = reply.json()["status"] == "error"
            if number % 2:
                # Its task again, or refused for being in error.
                assert answer == (409 if timed_out else 200)
            else:
                # Finished (a requeued task stays the Worker's, as upstream), or refused.
                assert answer in (204, 409)
        counted, kept = await running.app[keys.DATABASE].read(_counted_and_kept)
        assert kept == counted
