"""The per-job task counts stay equal to counting the tasks, through a job's whole life."""

from __future__ import annotations

from typing import Any

from flamenco.manager import keys
from flamenco.manager.persistence import Connection, jobs
from support.jobs import submit_echo_sleep
from support.manager import RunningManager
from support.worker_session import WorkerSession


def _counted_and_kept(conn: Connection) -> tuple[dict[Any, Any], dict[Any, Any]]:
    raw: Any = conn.raw  # type: ignore[attr-defined]
    counted: dict[Any, Any] = {}
    for job_id, status, number in raw.execute(
        "SELECT job_id, status, count(*) FROM tasks GROUP BY job_id, status"
    ):
        counted[(job_id, status)] = number
    kept = {
        (job_id, status): number
        for job_id, status, number in raw.execute(
            "SELECT job_id, status, num_tasks FROM job_task_counts WHERE num_tasks > 0"
        )
    }
    return counted, kept


async def _assert_counts_agree(manager: RunningManager) -> None:
    counted, kept = await manager.app[keys.DATABASE].read(_counted_and_kept)
    assert kept == counted


async def test_counts_follow_every_kind_of_status_change(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    first = await submit_echo_sleep(client, name="first", repeats=1)
    second = await submit_echo_sleep(client, name="second", repeats=1)
    await _assert_counts_agree(manager)

    task = await worker.next_task()  # queued -> active
    await _assert_counts_agree(manager)
    await worker.update(task["uuid"], taskStatus="failed", log="boom")  # -> soft-failed
    await _assert_counts_agree(manager)
    task = await worker.next_task()
    await worker.complete(task)
    await _assert_counts_agree(manager)

    for job in (first, second):  # mass updates of whole jobs
        await client.post(
            f"/api/v3/jobs/{job['id']}/setstatus",
            json_body={"status": "cancel-requested", "reason": "test"},
            expect=204,
        )
        await _assert_counts_agree(manager)
        await client.post(
            f"/api/v3/jobs/{job['id']}/setstatus",
            json_body={"status": "requeueing", "reason": "test"},
            expect=204,
        )
        await _assert_counts_agree(manager)

    # The counts are what the state machine decides from.
    def read(conn: Connection) -> dict[Any, int]:
        job = jobs.fetch_job(conn, first["id"])
        return jobs.count_tasks_by_status(conn, job.id)

    counts = await manager.app[keys.DATABASE].read(read)
    assert sum(counts.values()) >= 1
