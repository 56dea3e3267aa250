"""Job dependencies over the API: waiting, release, failure, requeue and deletion rules."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from flamenco.manager import keys
from support.jobs import job_status, submit_echo_sleep
from support.manager import RunningManager
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession


async def _run_job(worker: WorkerSession, job_id: str) -> None:
    """Let `worker` run every task of the job; it gets no task of another job meanwhile."""
    while await job_status(worker.client, job_id) != "completed":
        reply = await worker.schedule()
        if reply.status == 204:
            return
        task = reply.json()
        assert task["job"] == job_id, "the worker got a task of a job that should wait"
        await worker.complete(task)


async def _fetch(client: SpecCheckedClient, job_id: str) -> dict[str, Any]:
    reply = await client.get(f"/api/v3/jobs/{job_id}", expect=200)
    job: dict[str, Any] = reply.json()
    return job


async def _graph(client: SpecCheckedClient, job_id: str) -> dict[str, Any]:
    reply = await client.get(f"/api/v3/jobs/{job_id}/dependencies", expect=200)
    graph: dict[str, Any] = reply.json()
    return graph


async def test_dependent_waits_until_its_dependency_completes(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    # Higher priority: were dependencies ignored, the render would go first.
    render = await submit_echo_sleep(
        client, name="render", repeats=1, priority=90, depends_on=[bake["id"]]
    )
    assert render["status"] == "queued"
    assert render["depends_on"] == [bake["id"]]
    assert "bake" not in (await _fetch(client, bake["id"])).get("depends_on", [])
    assert 'Waiting for dependency "bake"' in render["activity"]
    listed = (await client.get("/api/v3/jobs", expect=200)).json()["jobs"]
    by_id = {job["id"]: job for job in listed}
    assert by_id[render["id"]]["depends_on"] == [bake["id"]]
    assert "depends_on" not in by_id[bake["id"]]

    graph = await _graph(client, render["id"])
    assert [ref["name"] for ref in graph["depends_on"]] == ["bake"]
    assert graph["dependents"] == []
    assert graph["waiting_reason"].startswith('Waiting for dependency "bake"')
    assert [ref["id"] for ref in (await _graph(client, bake["id"]))["dependents"]] == [render["id"]]

    await _run_job(worker, bake["id"])
    assert await job_status(client, bake["id"]) == "completed"
    released = await _fetch(client, render["id"])
    assert released["status"] == "queued"
    assert "All dependencies completed" in released["activity"]
    assert (await _graph(client, render["id"]))["waiting_reason"] == ""

    await _run_job(worker, render["id"])
    assert await job_status(client, render["id"]) == "completed"


async def test_job_waits_for_all_of_several_dependencies(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    first = await submit_echo_sleep(client, name="first", repeats=1)
    second = await submit_echo_sleep(client, name="second", repeats=1, initial_status="paused")
    comp = await submit_echo_sleep(
        client, name="comp", repeats=1, priority=90, depends_on=[first["id"], second["id"]]
    )
    await _run_job(worker, first["id"])
    assert "second" in (await _fetch(client, comp["id"]))["activity"]
    await worker.schedule(expect=204)  # second is paused, comp still waits.
    await client.post(
        f"/api/v3/jobs/{second['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "go"},
        expect=204,
    )
    await _run_job(worker, second["id"])
    await _run_job(worker, comp["id"])
    assert await job_status(client, comp["id"]) == "completed"


async def test_unknown_dependency_is_a_400_naming_it(manager: RunningManager) -> None:
    missing = str(uuid.uuid4())
    reply = await manager.client.post(
        "/api/v3/jobs",
        json_body=_echo_job(depends_on=[missing]),
        expect=400,
    )
    assert missing in reply.json()["message"]
    reply = await manager.client.post(
        "/api/v3/jobs/check", json_body=_echo_job(depends_on=[missing]), expect=400
    )
    assert missing in reply.json()["message"]
    listed = (await manager.client.get("/api/v3/jobs", expect=200)).json()["jobs"]
    assert listed == []


async def test_bad_depends_on_values_are_400(manager: RunningManager) -> None:
    for value in ("not-a-list", ["not-a-uuid"], [17]):
        await manager.client.post("/api/v3/jobs", json_body=_echo_job(depends_on=value), expect=400)


async def test_failed_dependency_keeps_dependent_waiting_until_requeued(
    manager: RunningManager,
) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    render = await submit_echo_sleep(client, name="render", repeats=1, depends_on=[bake["id"]])
    task = await worker.next_task()
    await worker.update(task["uuid"], taskStatus="failed", activity="Failed")
    # The only Worker failed it, so nobody is left to run it: the job fails.
    assert await job_status(client, bake["id"]) == "failed"
    waiting = await _fetch(client, render["id"])
    assert waiting["status"] == "queued"
    assert 'dependency "bake", which is failed' in waiting["activity"]
    await worker.schedule(expect=204)

    await client.post(
        f"/api/v3/jobs/{bake['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "try again"},
        expect=204,
    )
    assert 'Waiting for dependency "bake"' in (await _fetch(client, render["id"]))["activity"]
    await _run_job(worker, bake["id"])
    await _run_job(worker, render["id"])
    assert await job_status(client, render["id"]) == "completed"


async def test_cancelled_dependency_is_named_in_the_activity(manager: RunningManager) -> None:
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    render = await submit_echo_sleep(client, name="render", repeats=1, depends_on=[bake["id"]])
    await client.post(
        f"/api/v3/jobs/{bake['id']}/setstatus",
        json_body={"status": "cancel-requested", "reason": "not now"},
        expect=204,
    )
    assert await job_status(client, bake["id"]) == "canceled"
    activity = (await _fetch(client, render["id"]))["activity"]
    assert 'dependency "bake", which is canceled; requeue it' in activity
    worker = WorkerSession(client)
    await worker.start()
    await worker.schedule(expect=204)


async def test_requeued_dependency_holds_back_the_rest_of_its_dependent(
    manager: RunningManager,
) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    render = await submit_echo_sleep(client, name="render", repeats=2, depends_on=[bake["id"]])
    await _run_job(worker, bake["id"])
    await client.post(
        f"/api/v3/jobs/{bake['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "new cache"},
        expect=204,
    )
    # Bake runs again first; the render waits for it once more.
    task = await worker.next_task()
    assert task["job"] == bake["id"]
    await worker.complete(task)
    await _run_job(worker, bake["id"])
    await _run_job(worker, render["id"])
    assert await job_status(client, render["id"]) == "completed"


async def test_deleting_a_job_others_depend_on_is_a_409_naming_them(
    manager: RunningManager,
) -> None:
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    render = await submit_echo_sleep(client, name="render", repeats=1, depends_on=[bake["id"]])
    comp = await submit_echo_sleep(client, name="comp", repeats=1, depends_on=[render["id"]])
    other = await submit_echo_sleep(client, name="other", repeats=1)

    reply = await client.delete(f"/api/v3/jobs/{bake['id']}", expect=409)
    message = reply.json()["message"]
    assert render["id"] in message and comp["id"] in message and '"render"' in message
    assert "delete_requested_at" not in await _fetch(client, bake["id"])

    # A job depending on a job being deleted is refused.
    await client.delete(f"/api/v3/jobs/{comp['id']}", expect=204)
    await client.delete(f"/api/v3/jobs/{bake['id']}?with_dependents=true", expect=204)
    for job_id in (bake["id"], render["id"], comp["id"]):
        await _until_deleted(client, job_id)
    assert await job_status(client, other["id"]) == "queued"
    reply = await client.post(
        "/api/v3/jobs", json_body=_echo_job(depends_on=[bake["id"]]), expect=400
    )
    assert bake["id"] in reply.json()["message"]


async def test_a_dependent_being_deleted_anyway_does_not_block(manager: RunningManager) -> None:
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    render = await submit_echo_sleep(client, name="render", repeats=1, depends_on=[bake["id"]])
    await client.delete(f"/api/v3/jobs/{render['id']}", expect=204)
    await client.delete(f"/api/v3/jobs/{bake['id']}", expect=204)
    await _until_deleted(client, bake["id"])


async def test_mass_deletion_refuses_to_orphan_dependents(manager: RunningManager) -> None:
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=1)
    reply = await client.get(f"/api/v3/jobs/{bake['id']}", expect=200)
    moment = reply.json()["updated"]
    await asyncio.sleep(1.1)  # The selection rounds up to whole seconds.
    render = await submit_echo_sleep(client, name="render", repeats=1, depends_on=[bake["id"]])
    body = {"last_updated_max": moment}
    reply = await client.delete("/api/v3/jobs/mass-delete", json_body=body, expect=409)
    assert render["id"] in reply.json()["message"]
    await client.delete("/api/v3/jobs/mass-delete?with_dependents=true", json_body=body, expect=204)
    await _until_deleted(client, render["id"])


def _echo_job(**extra: Any) -> dict[str, Any]:
    return {
        "name": "echo",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        **extra,
    }


async def _until_deleted(client: SpecCheckedClient, job_id: str) -> None:
    for _ in range(100):
        reply = await client.get(f"/api/v3/jobs/{job_id}")
        if reply.status == 404:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} was not deleted")


async def test_start_up_puts_the_waiting_marks_right(manager: RunningManager) -> None:
    """Should the Manager stop between a job's status change and telling the jobs
    waiting for it, the check at start-up makes tasks.job_waiting right again."""
    client = manager.client
    bake = await submit_echo_sleep(client, name="bake", repeats=0)
    render = await submit_echo_sleep(client, name="render", repeats=0, depends_on=[bake["id"]])
    plain = await submit_echo_sleep(client, name="plain", repeats=0)
    db = manager.app[keys.DATABASE]

    def marks(conn: Any) -> dict[str, int]:
        raw: Any = conn.raw
        rows = raw.execute(
            "SELECT jobs.uuid, max(tasks.job_waiting) FROM tasks"
            " JOIN jobs ON jobs.id = tasks.job_id GROUP BY jobs.uuid"
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    assert await db.read(marks) == {bake["id"]: 0, render["id"]: 1, plain["id"]: 0}

    def spoil(conn: Any) -> None:
        raw: Any = conn.raw
        raw.execute("UPDATE tasks SET job_waiting = 1 - job_waiting")

    await db.write(spoil)
    await manager.app[keys.STATE_MACHINE].check_stuck()
    assert await db.read(marks) == {bake["id"]: 0, render["id"]: 1, plain["id"]: 0}
