"""Progress reports that arrive at once are saved in batches, each with its own answer."""

from __future__ import annotations

import asyncio
import uuid

from support.jobs import blender_render_job
from support.manager import RunningManager
from support.worker_session import WorkerSession

RENDER_TASKS = 4


async def test_reports_arriving_together_each_get_their_own_outcome(
    manager: RunningManager,
) -> None:
    client = manager.client
    owners = [WorkerSession(client, name=f"owner-{number}") for number in range(RENDER_TASKS)]
    intruder = WorkerSession(client, name="intruder")
    for worker in [*owners, intruder]:
        await worker.start()
    await client.post("/api/v3/jobs", json_body=blender_render_job(), expect=200)
    tasks = [await owner.next_task() for owner in owners]

    for burst in range(3):
        replies = await asyncio.gather(
            *(
                owner.update(task["uuid"], expect=None, activity=f"{owner.name} burst {burst}")
                for owner, task in zip(owners, tasks, strict=True)
            ),
            intruder.update(tasks[0]["uuid"], expect=None, activity="not mine"),
            owners[1].update(str(uuid.uuid4()), expect=None, activity="no such task"),
        )
        statuses = [reply.status for reply in replies]
        assert statuses == [204] * RENDER_TASKS + [409, 404]
        assert "not assigned to you" in replies[RENDER_TASKS].json()["message"]

        for owner, task in zip(owners, tasks, strict=True):
            saved = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
            assert saved["activity"] == f"{owner.name} burst {burst}"


async def test_one_workers_reports_in_one_burst_are_all_saved(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    await client.post("/api/v3/jobs", json_body=blender_render_job(), expect=200)
    task = await worker.next_task()
    replies = await asyncio.gather(
        *(worker.update(task["uuid"], expect=None, log=f"line {n}\n") for n in range(10))
    )
    assert [reply.status for reply in replies] == [204] * 10
    tail = (await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
    assert all(f"line {n}" in tail for n in range(10))
