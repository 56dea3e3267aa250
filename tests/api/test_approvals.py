"""Approval tasks over the API: never given to a Worker, approved or rejected by a person."""

from __future__ import annotations

import asyncio
from typing import Any

from flamenco.manager import keys
from support.jobs import job_status, submit_echo_sleep, tasks_by_name
from support.manager import RunningManager
from support.spec_client import SpecCheckedClient
from support.worker_session import DEFAULT_TASK_TYPES, WorkerSession

# A custom job type with an approval gate, as docs/job-graphs.md tells studios to write.
GATED_JOB_TYPE = """\
const JOB_TYPE = { label: "Gated Echo", settings: [] };

function compileJob(job) {
  const before = author.Task("before", "misc");
  before.addCommand(author.Command("echo", { message: "preview" }));
  job.addTask(before);

  const approval = author.Task("approve", "approval");
  approval.addDependency(before);
  job.addTask(approval);

  const after = author.Task("after", "misc");
  after.addCommand(author.Command("echo", { message: "final" }));
  after.addDependency(approval);
  job.addTask(after);
}
"""


def install_gated_job_type(manager: RunningManager) -> None:
    scripts = manager.app[keys.CONFIG].job_scripts_path
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "gated_echo.js").write_text(GATED_JOB_TYPE, encoding="utf-8")


async def submit_gated(client: SpecCheckedClient, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "gated",
        "type": "gated-echo",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {},
        **extra,
    }
    job: dict[str, Any] = (await client.post("/api/v3/jobs", json_body=body, expect=200)).json()
    return job


async def _task(client: SpecCheckedClient, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = (await client.get(f"/api/v3/tasks/{task_id}", expect=200)).json()
    return task


async def test_approval_is_never_given_to_a_worker_and_releases_the_rest(
    manager: RunningManager,
) -> None:
    client = manager.client
    install_gated_job_type(manager)
    # Even a Worker claiming to do approvals never gets one.
    worker = WorkerSession(client, task_types=(*DEFAULT_TASK_TYPES, "approval"))
    await worker.start()
    job = await submit_gated(client)
    approval_id = (await tasks_by_name(client, job["id"]))["approve"]["id"]

    # Not pending before the task it depends on completed.
    reply = await client.post(f"/api/v3/tasks/{approval_id}/approve", json_body={}, expect=409)
    assert "have not completed" in reply.json()["message"]
    graph = (await client.get(f"/api/v3/jobs/{job['id']}/dependencies", expect=200)).json()
    assert graph["awaiting_approval"] == []

    before = await worker.next_task()
    assert before["name"] == "before"
    await worker.complete(before)
    await worker.schedule(expect=204)  # Only the approval is left to do: a person's.
    assert (await _task(client, approval_id))["status"] == "queued"
    graph = (await client.get(f"/api/v3/jobs/{job['id']}/dependencies", expect=200)).json()
    assert graph["awaiting_approval"] == [{"id": approval_id, "name": "approve"}]

    await client.post(
        f"/api/v3/tasks/{approval_id}/approve",
        json_body={"approver": "Ana", "comment": "looks good"},
        expect=204,
    )
    approved = await _task(client, approval_id)
    assert approved["status"] == "completed"
    assert approved["activity"] == "Approved by Ana: looks good"
    after = await worker.next_task()
    assert after["name"] == "after"
    await worker.complete(after)
    assert await job_status(client, job["id"]) == "completed"

    # Decided once only.
    await client.post(f"/api/v3/tasks/{approval_id}/approve", expect=409)
    await client.post(f"/api/v3/tasks/{approval_id}/reject", json_body={"reason": "no"}, expect=409)


async def test_rejection_fails_the_task_with_the_reason_and_the_job(
    manager: RunningManager,
) -> None:
    client = manager.client
    install_gated_job_type(manager)
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_gated(client)
    approval_id = (await tasks_by_name(client, job["id"]))["approve"]["id"]
    await worker.complete(await worker.next_task())

    await client.post(
        f"/api/v3/tasks/{approval_id}/reject",
        json_body={"approver": "Ana", "reason": "the horse is green"},
        expect=204,
    )
    rejected = await _task(client, approval_id)
    assert rejected["status"] == "failed"
    assert rejected["activity"] == "Rejected by Ana: the horse is green"
    assert await job_status(client, job["id"]) == "failed"
    assert (await tasks_by_name(client, job["id"]))["after"]["status"] == "canceled"
    await worker.schedule(expect=204)

    # Requeueing the job asks for approval again.
    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "fixed the horse"},
        expect=204,
    )
    assert (await _task(client, approval_id))["status"] == "queued"
    await worker.schedule(expect=204)
    await client.post(f"/api/v3/tasks/{approval_id}/approve", expect=204)
    await worker.complete(await worker.next_task())
    assert await job_status(client, job["id"]) == "completed"


async def test_bad_approval_requests(manager: RunningManager) -> None:
    client = manager.client
    install_gated_job_type(manager)
    job = await submit_echo_sleep(client, repeats=1)
    echo_id = (await tasks_by_name(client, job["id"]))["echo"]["id"]
    reply = await client.post(f"/api/v3/tasks/{echo_id}/approve", expect=409)
    assert '"approval"' in reply.json()["message"]
    gated = await submit_gated(client)
    approval_id = (await tasks_by_name(client, gated["id"]))["approve"]["id"]
    await client.post(f"/api/v3/tasks/{approval_id}/reject", json_body={}, expect=400)
    await client.post(f"/api/v3/tasks/{approval_id}/reject", json_body={"reason": ""}, expect=400)
    await client.post(
        "/api/v3/tasks/2f0e4f3c-4a53-4e8e-9c8f-3a1b7d1e6c55/approve", json_body={}, expect=404
    )


async def test_approval_waits_for_the_jobs_dependencies(manager: RunningManager) -> None:
    client = manager.client
    install_gated_job_type(manager)
    bake = await submit_echo_sleep(client, name="bake", repeats=1, initial_status="paused")
    gated = await submit_gated(client, depends_on=[bake["id"]])
    approval_id = (await tasks_by_name(client, gated["id"]))["approve"]["id"]
    reply = await client.post(f"/api/v3/tasks/{approval_id}/approve", expect=409)
    assert 'dependency "bake"' in reply.json()["message"]


async def test_two_people_deciding_at_once_one_wins(manager: RunningManager) -> None:
    client = manager.client
    install_gated_job_type(manager)
    worker = WorkerSession(client)
    await worker.start()
    for _ in range(3):
        job = await submit_gated(client)
        approval_id = (await tasks_by_name(client, job["id"]))["approve"]["id"]
        await worker.complete(await worker.next_task())
        replies = await asyncio.gather(
            client.post(f"/api/v3/tasks/{approval_id}/approve", expect=None),
            client.post(
                f"/api/v3/tasks/{approval_id}/reject", json_body={"reason": "no"}, expect=None
            ),
            client.post(f"/api/v3/tasks/{approval_id}/approve", expect=None),
        )
        assert sorted(reply.status for reply in replies) == [204, 409, 409]
        final = await job_status(client, job["id"])
        if final == "failed":
            assert (await _task(client, approval_id))["status"] == "failed"
        else:
            await worker.complete(await worker.next_task())
            finished = (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
            # One decision, counted once: the job completes with its steps right.
            assert finished["status"] == "completed"
            assert finished["steps_completed"] == finished["steps_total"]


async def test_holds_for_the_scheduling_explainer(manager: RunningManager) -> None:
    client = manager.client
    install_gated_job_type(manager)
    worker = WorkerSession(client)
    await worker.start()
    bake = await submit_echo_sleep(client, name="bake", repeats=0)
    gated = await submit_gated(client, depends_on=[bake["id"]])
    graph_codes = {"waiting_for_dependency", "awaiting_approval"}

    async def holds() -> list[tuple[str, str]]:
        reply = await client.get(f"/api/v3/jobs/{gated['id']}/explain", expect=200)
        reasons = reply.json()["reasons"]
        return [(r["code"], r["message"]) for r in reasons if r["code"] in graph_codes]

    assert await holds() == [("waiting_for_dependency", 'waiting for dependency "bake" (queued)')]
    await worker.complete(await worker.next_task())  # The bake.
    await worker.complete(await worker.next_task())  # The gated job's "before" task.
    assert await holds() == [("awaiting_approval", 'awaiting approval of "approve"')]
