"""Workers asking three Manager processes at once never exceed a limit or a job's max_workers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from support.cluster import running_cluster
from support.limits import (
    COMP_TASK_TYPES,
    licensed_comp_job,
    limit_use,
    submit,
    write_licensed_comp_job_type,
)
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PROCESSES = 3
WORKERS = 12
LICENCES = 3
ROUNDS = 6


async def test_capacity_holds_across_processes(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    write_licensed_comp_job_type(scripts)
    async with (
        running_cluster(
            tmp_path,
            PROCESSES,
            resource_limits=f"{{nuke-licence: {LICENCES}}}",
            job_scripts_path=str(scripts),
        ) as cluster,
        aiohttp.ClientSession() as session,
    ):
        clients = [SpecCheckedClient(session, url) for url in cluster.urls]
        capped = await submit(clients[0], licensed_comp_job(name="capped", tasks=20, max_workers=1))
        free = await submit(clients[1], licensed_comp_job(name="free", tasks=20))
        sessions = [
            WorkerSession(
                clients[number % PROCESSES], name=f"w{number}", task_types=COMP_TASK_TYPES
            )
            for number in range(WORKERS)
        ]
        await asyncio.gather(*(worker.start() for worker in sessions))

        handed_out_in_total = 0
        for _ in range(ROUNDS):
            replies = await asyncio.gather(
                *(worker.schedule(expect=(200, 204, 503)) for worker in sessions)
            )
            running = [
                (worker, reply.json())
                for worker, reply in zip(sessions, replies, strict=True)
                if reply.status == 200
            ]
            jobs = [task["job"] for _, task in running]
            assert len(running) <= LICENCES
            assert jobs.count(capped["id"]) <= 1
            in_use, capacity = (await limit_use(clients[2]))["nuke-licence"]
            assert in_use == len(running) and capacity == LICENCES
            handed_out_in_total += len(running)
            await asyncio.gather(*(worker.complete(task) for worker, task in running))
        # Some work was done in every round, by both jobs.
        assert handed_out_in_total >= ROUNDS * (LICENCES - 1)
        assert free["id"] in jobs
