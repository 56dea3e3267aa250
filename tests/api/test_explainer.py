"""GET /api/v3/jobs/{job_id}/explain: one test per reason, through a real Manager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.test_approvals import install_gated_job_type, submit_gated
from conftest import ConfigMaker
from support.jobs import submit_echo_sleep
from support.limits import COMP_TASK_TYPES, licensed_comp_job, submit, write_licensed_comp_job_type
from support.manager import RunningManager, run_manager
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def limited_manager(
    tmp_path: Path, make_manager_config: ConfigMaker
) -> AsyncIterator[RunningManager]:
    write_licensed_comp_job_type(tmp_path / "scripts")
    loaded = make_manager_config(resource_limits={"nuke-licence": 1}, blocklist_threshold=2)
    async for running in run_manager(loaded):
        yield running


async def explain(
    client: SpecCheckedClient, job: dict[str, Any], worker: WorkerSession | None = None
) -> list[dict[str, str]]:
    query = f"?worker={worker.uuid}" if worker is not None else ""
    reply = await client.get(f"/api/v3/jobs/{job['id']}/explain{query}", expect=200)
    reasons: list[dict[str, str]] = reply.json()["reasons"]
    return reasons


def codes(reasons: list[dict[str, str]]) -> list[str]:
    return [reason["code"] for reason in reasons]


async def started(client: SpecCheckedClient, name: str, **options: Any) -> WorkerSession:
    worker = WorkerSession(client, name=name, **options)
    await worker.start()
    return worker


async def test_nothing_holds_back_a_job_an_idle_worker_can_run(manager: RunningManager) -> None:
    worker = await started(manager.client, "idle")
    job = await submit_echo_sleep(manager.client)
    assert await explain(manager.client, job) == []
    assert await explain(manager.client, job, worker) == []
    # And indeed the Worker gets its task.
    assert (await worker.next_task())["job"] == job["id"]


async def test_job_paused(manager: RunningManager) -> None:
    await started(manager.client, "idle")
    job = await submit_echo_sleep(manager.client, initial_status="paused")
    reasons = await explain(manager.client, job)
    assert codes(reasons) == ["job_paused"]
    assert "paused" in reasons[0]["message"]


async def test_job_not_queued(manager: RunningManager) -> None:
    job = await submit_echo_sleep(manager.client)
    await manager.client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "cancel-requested", "reason": "not needed"},
        expect=204,
    )
    reasons = await explain(manager.client, job)
    assert codes(reasons) == ["job_not_queued"]
    assert "canceled" in reasons[0]["message"]


async def test_no_task_ready_while_the_first_task_runs(manager: RunningManager) -> None:
    worker = await started(manager.client, "busy")
    job = await submit_echo_sleep(manager.client, repeats=3)
    await worker.next_task()  # the echo task; the sleep tasks wait for it
    reasons = await explain(manager.client, job)
    assert codes(reasons) == ["no_task_ready"]
    assert "1 task running" in reasons[0]["message"]


async def test_max_workers_reached(limited_manager: RunningManager) -> None:
    client = limited_manager.client
    first = await started(client, "first", task_types=COMP_TASK_TYPES)
    second = await started(client, "second", task_types=COMP_TASK_TYPES)
    job = await submit_echo_sleep(client, repeats=3, max_workers=1)
    await first.complete(await first.next_task())
    await first.next_task()
    reasons = await explain(client, job, second)
    assert codes(reasons) == ["max_workers_reached"]
    assert "1 of at most 1" in reasons[0]["message"]
    await second.schedule(expect=204)  # the scheduler agrees


async def test_limit_exhausted(limited_manager: RunningManager) -> None:
    client = limited_manager.client
    first = await started(client, "first", task_types=COMP_TASK_TYPES)
    second = await started(client, "second", task_types=COMP_TASK_TYPES)
    running = await submit(client, licensed_comp_job(name="running", tasks=1))
    waiting = await submit(client, licensed_comp_job(name="waiting", tasks=1))
    assert (await first.next_task())["job"] == running["id"]
    reasons = await explain(client, waiting)
    assert codes(reasons) == ["limit_exhausted"]
    assert reasons[0]["message"] == "limit nuke-licence exhausted: 1 of 1 in use"
    await second.schedule(expect=204)


async def test_no_worker_with_tag(manager: RunningManager) -> None:
    client = manager.client
    untagged = await started(client, "untagged")
    tag = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    job = await submit_echo_sleep(client, worker_tag=tag["id"])
    reasons = await explain(client, job)
    assert reasons == [{"code": "no_worker_with_tag", "message": "no Worker with tag gpu"}]
    assert codes(await explain(client, job, untagged)) == ["no_worker_with_tag"]

    await client.post(
        f"/api/v3/worker-mgt/workers/{untagged.uuid}/settags",
        json_body={"tag_ids": [tag["id"]]},
        expect=204,
    )
    assert await explain(client, job) == []


async def test_worker_incapable(manager: RunningManager) -> None:
    client = manager.client
    blender_only = await started(
        client, "blender-only", platform="windows", task_types=("blender",)
    )
    job = await submit_echo_sleep(client)
    reasons = await explain(client, job, blender_only)
    assert codes(reasons) == ["worker_incapable"]
    assert "windows" in reasons[0]["message"] and "misc" in reasons[0]["message"]
    assert codes(await explain(client, job)) == ["worker_incapable"]
    await blender_only.schedule(expect=204)


async def test_every_capable_worker_asleep_offline_or_busy(manager: RunningManager) -> None:
    client = manager.client
    busy = await started(client, "busy")
    sleepy = await started(client, "sleepy")
    await started(client, "incapable", task_types=("blender",))
    other = await submit_echo_sleep(client, name="other", priority=90)
    assert (await busy.next_task())["job"] == other["id"]
    await sleepy.state_changed("asleep")
    job = await submit_echo_sleep(client, name="mine")
    assert codes(await explain(client, job)) == ["workers_unavailable"]
    per_worker = await explain(client, job, busy)
    assert per_worker == [
        {"code": "workers_unavailable", "message": "Worker busy is busy with a task of another job"}
    ]
    assert (await explain(client, job, sleepy))[0]["message"] == "Worker sleepy is asleep"


async def test_the_worker_is_blocklisted(limited_manager: RunningManager) -> None:
    client = limited_manager.client
    flaky = await started(client, "flaky")
    # A capable Worker that sleeps keeps the job from failing for want of Workers.
    sleepy = await started(client, "sleepy")
    await sleepy.state_changed("asleep")
    job = await submit_echo_sleep(client, repeats=4)
    await flaky.complete(await flaky.next_task())
    for _ in range(2):  # blocklist_threshold
        task = await flaky.next_task()
        await flaky.update(task["uuid"], taskStatus="failed", activity="Failed")
    reasons = await explain(client, job, flaky)
    assert reasons == [
        {
            "code": "worker_blocklisted",
            "message": "Worker flaky is blocklisted for this job's task type misc",
        }
    ]
    await flaky.schedule(expect=204)
    # Of the farm: the only Worker not blocklisted sleeps.
    assert codes(await explain(client, job)) == ["workers_unavailable"]


async def test_the_worker_failed_this_task_before(manager: RunningManager) -> None:
    client = manager.client
    failing = await started(client, "failing")
    sleepy = await started(client, "sleepy")
    await sleepy.state_changed("asleep")
    job = await submit_echo_sleep(client, repeats=1)
    task = await failing.next_task()
    await failing.update(task["uuid"], taskStatus="failed", activity="Failed")
    reasons = await explain(client, job, failing)
    assert reasons == [
        {"code": "worker_failed_task", "message": "Worker failing failed this task before"}
    ]
    await failing.schedule(expect=204)
    # Another Worker may run it.
    await sleepy.state_changed("awake")
    assert await explain(client, job, sleepy) == []
    assert await explain(client, job) == []


async def test_waiting_for_dependency(manager: RunningManager) -> None:
    client = manager.client
    worker = await started(client, "idle")
    first = await submit_echo_sleep(client, name="bake", repeats=1, initial_status="paused")
    second = await submit_echo_sleep(client, name="render", depends_on=[first["id"]])
    reasons = await explain(client, second)
    assert reasons == [
        {
            "code": "waiting_for_dependency",
            "message": 'waiting for dependency "bake", which is paused',
        }
    ]
    assert await explain(client, second, worker) == reasons
    await worker.schedule(expect=204)  # the scheduler agrees: the dependency is paused


async def test_awaiting_approval(manager: RunningManager) -> None:
    client = manager.client
    install_gated_job_type(manager)
    worker = await started(client, "idle")
    job = await submit_gated(client)
    await worker.complete(await worker.next_task())
    reasons = await explain(client, job)
    assert reasons == [{"code": "awaiting_approval", "message": 'awaiting approval of "approve"'}]
    await worker.schedule(expect=204)


async def test_unknown_job_or_worker_is_404(manager: RunningManager) -> None:
    client = manager.client
    job = await submit_echo_sleep(client)
    reply = await client.get(f"/api/v3/jobs/{UNKNOWN}/explain", expect=404)
    assert UNKNOWN in reply.json()["message"]
    await client.get(f"/api/v3/jobs/{job['id']}/explain?worker={UNKNOWN}", expect=404)
    await client.get(f"/api/v3/jobs/{job['id']}/explain?worker=not-a-uuid", expect=400)


async def test_resource_limits_listing_without_limits_is_empty(manager: RunningManager) -> None:
    assert (await manager.client.get("/api/v3/resource-limits", expect=200)).json() == {
        "limits": []
    }
