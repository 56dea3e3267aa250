"""Render statistics with two Manager processes: each records what it hears, both answer it all."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from support.cluster import running_cluster
from support.jobs import submit_echo_sleep
from support.spec_client import SpecCheckedClient
from support.waiting import until
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

LOGS = Path(__file__).parents[1] / "unit" / "manager" / "blender_logs"


async def test_frames_and_runs_recorded_by_one_process_are_read_through_another(
    tmp_path: Path,
) -> None:
    log = "".join(
        f"pid=4242 > {line}\n"
        for line in (LOGS / "cycles-3.4.1.txt").read_text(encoding="utf-8").splitlines()
    )
    async with running_cluster(tmp_path, 2) as cluster, aiohttp.ClientSession() as session:
        first, second = (SpecCheckedClient(session, url) for url in cluster.urls)
        worker = WorkerSession(first, name="cluster-worker")
        await worker.start()
        job = await submit_echo_sleep(second, repeats=1)
        task = await worker.next_task()  # the run starts through the first process
        await worker.update(task["uuid"], log=log)
        worker.client = second  # and ends through the second
        await worker.update(task["uuid"], taskStatus="completed")

        path = f"/api/v3/statistics/jobs/{job['id']}"

        async def frames_seen_through_second() -> bool:
            found = (await second.get(path, expect=200)).json()
            return bool(found["totals"]["frames_rendered"] == 2)

        # The first process stores its frames within seconds, not at once.
        await until(frames_seen_through_second, timeout=15)
        runs = (await second.get(path + "/task-runs", expect=200)).json()["runs"]
        assert [(run["task_id"], run["status"], run["worker_name"]) for run in runs] == [
            (task["uuid"], "completed", "cluster-worker")
        ]
        frames = (await first.get(path, expect=200)).json()["frames"]
        assert [frame["frame"] for frame in frames] == [1, 2]
