"""Job dependencies under concurrency: a dependency completing while Workers ask for work,
and a job submitted while the job it depends on completes."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from support.jobs import job_status, submit_echo_sleep
from support.manager import RunningManager
from support.worker_session import WorkerSession

WORKERS = 6


async def test_dependency_completing_while_workers_ask(manager: RunningManager) -> None:
    client = manager.client
    workers = [WorkerSession(client, name=f"racer-{n}") for n in range(WORKERS)]
    for worker in workers:
        await worker.start()
    bake = await submit_echo_sleep(client, name="bake", repeats=0)
    render = await submit_echo_sleep(client, name="render", repeats=12, depends_on=[bake["id"]])
    bake_task = await workers[0].next_task()
    assert bake_task["job"] == bake["id"]
    await workers[0].update(bake_task["uuid"], taskStatus="active", activity="Started")
    for worker in workers[1:]:
        await worker.schedule(expect=204)

    received: list[dict[str, Any]] = []

    async def keep_asking(worker: WorkerSession) -> None:
        while len(received) < 13:
            reply = await worker.schedule()
            if reply.status == 200:
                task = reply.json()
                assert task["job"] == render["id"]
                received.append(task)
                await worker.complete(task)
            else:
                await asyncio.sleep(0.01)

    askers = [asyncio.create_task(keep_asking(worker)) for worker in workers[1:]]
    await asyncio.sleep(0.05)
    # Completing the dependency's last task, while the others keep asking.
    await workers[0].update(bake_task["uuid"], taskStatus="completed", activity="Done")
    async with asyncio.timeout(30):
        await asyncio.gather(*askers)
    # Each of the render's tasks went to exactly one Worker, none lost in the race.
    assert len(received) == 13
    assert max(Counter(task["uuid"] for task in received).values()) == 1
    assert await job_status(client, render["id"]) == "completed"


async def test_submission_racing_the_dependency_completion(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    for _ in range(5):
        bake = await submit_echo_sleep(client, name="bake", repeats=0)
        task = await worker.next_task()
        await worker.update(task["uuid"], taskStatus="active", activity="Started")
        completion = worker.update(task["uuid"], taskStatus="completed", activity="Done")
        submission = submit_echo_sleep(client, name="render", repeats=0, depends_on=[bake["id"]])
        _, render = await asyncio.gather(completion, submission)
        # Whichever came first, the render is not left saying it waits, and it runs.
        fetched = (await client.get(f"/api/v3/jobs/{render['id']}", expect=200)).json()
        assert "Waiting" not in fetched["activity"], fetched["activity"]
        render_task = await worker.next_task()
        assert render_task["job"] == render["id"]
        await worker.complete(render_task)
        assert await job_status(client, render["id"]) == "completed"


async def test_two_dependencies_completing_at_once_release_their_job(
    manager: RunningManager,
) -> None:
    """Each completion sees the other dependency unfinished unless they are decided in turn."""
    client = manager.client
    first_worker = WorkerSession(client, name="first")
    second_worker = WorkerSession(client, name="second")
    for worker in (first_worker, second_worker):
        await worker.start()
    for _ in range(5):
        first = await submit_echo_sleep(client, name="first", repeats=0)
        second = await submit_echo_sleep(client, name="second", repeats=0)
        comp = await submit_echo_sleep(
            client, name="comp", repeats=0, depends_on=[first["id"], second["id"]]
        )
        tasks = [await first_worker.next_task(), await second_worker.next_task()]
        assert {task["job"] for task in tasks} == {first["id"], second["id"]}
        for worker, task in zip((first_worker, second_worker), tasks, strict=True):
            await worker.update(task["uuid"], taskStatus="active", activity="Started")
        await asyncio.gather(
            first_worker.update(tasks[0]["uuid"], taskStatus="completed", activity="Done"),
            second_worker.update(tasks[1]["uuid"], taskStatus="completed", activity="Done"),
        )
        comp_task = await first_worker.next_task()
        assert comp_task["job"] == comp["id"]
        await first_worker.complete(comp_task)


async def test_dependents_told_while_their_workers_report_lose_no_race(
    manager: RunningManager,
) -> None:
    """A dependency requeued and cancelled again and again while Workers report on
    the active tasks of a job depending on it: telling that job changes its tasks and
    then its row, the order every Worker report takes, so nothing deadlocks."""
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=0)
    render = await submit_echo_sleep(client, name="render", repeats=12, depends_on=[bake["id"]])
    workers = [WorkerSession(client, name=f"reporter-{n}") for n in range(WORKERS)]
    for worker in workers:
        await worker.start()
    await workers[0].complete(await workers[0].next_task())  # The bake is done.
    echo = await workers[0].next_task()
    await workers[0].complete(echo)
    tasks = [await worker.next_task() for worker in workers]
    assert {task["job"] for task in tasks} == {render["id"]}

    async def report(worker: WorkerSession, task: dict[str, Any]) -> list[int]:
        statuses = []
        for step in range(5):
            reply = await worker.update(task["uuid"], expect=None, log=f"step {step}\n")
            statuses.append(reply.status)
        return statuses

    async def flip_dependency() -> list[int]:
        statuses = []
        for status in ("requeueing", "cancel-requested", "requeueing", "cancel-requested"):
            reply = await client.post(
                f"/api/v3/jobs/{bake['id']}/setstatus",
                json_body={"status": status, "reason": "flip"},
                expect=None,
            )
            statuses.append(reply.status)
        return statuses

    results = await asyncio.gather(
        flip_dependency(), *(report(w, t) for w, t in zip(workers, tasks, strict=True))
    )
    assert {status for statuses in results for status in statuses} == {204}
    assert await job_status(client, bake["id"]) == "canceled"
    activity = (await client.get(f"/api/v3/jobs/{render['id']}", expect=200)).json()["activity"]
    assert 'dependency "bake", which is canceled' in activity
