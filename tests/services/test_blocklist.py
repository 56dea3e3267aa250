"""The per-job blocklist: a Worker that keeps failing one task type is kept away from it."""

from __future__ import annotations

from conftest import ConfigMaker
from support.jobs import submit_echo_sleep, tasks_by_name
from support.manager import run_manager
from support.worker_session import WorkerSession


async def test_worker_is_blocklisted_after_threshold_failures(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config(blocklist_threshold=2, task_fail_after_softfail_count=5)
    async for running in run_manager(loaded):
        client = running.client
        flaky = WorkerSession(client, name="flaky")
        steady = WorkerSession(client, name="steady")
        await flaky.start()
        await steady.start()
        job = await submit_echo_sleep(client, repeats=4)
        # The echo task first; then the sleep tasks become runnable.
        await steady.complete(await steady.next_task())

        first = await flaky.next_task()
        await flaky.update(first["uuid"], taskStatus="failed", activity="Failed: out of memory")
        assert (await client.get(f"/api/v3/jobs/{job['id']}/blocklist", expect=200)).json() == []

        second = await flaky.next_task()
        await flaky.update(second["uuid"], taskStatus="failed", activity="Failed: out of memory")
        blocklist = (await client.get(f"/api/v3/jobs/{job['id']}/blocklist", expect=200)).json()
        assert blocklist == [{"worker_id": flaky.uuid, "worker_name": "flaky", "task_type": "misc"}]
        # Blocked from this job's misc tasks: no more work for the flaky Worker.
        await flaky.schedule(expect=204)
        # Its failed tasks went back to the queue for others.
        tasks = (await client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()["tasks"]
        statuses = {t["id"]: t["status"] for t in tasks}
        assert statuses[first["uuid"]] in {"queued", "soft-failed"}
        assert statuses[second["uuid"]] in {"queued", "soft-failed"}
        assert (await steady.next_task())["name"] == "sleep"

        await client.request(
            "DELETE",
            f"/api/v3/jobs/{job['id']}/blocklist",
            json_body=[{"worker_id": flaky.uuid, "task_type": "misc"}],
            expect=204,
        )
        assert (await client.get(f"/api/v3/jobs/{job['id']}/blocklist", expect=200)).json() == []
        await client.request(
            "DELETE", f"/api/v3/jobs/{job['id']}/blocklist", json_body=[], expect=400
        )


async def test_job_fails_when_every_capable_worker_is_blocklisted(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config(blocklist_threshold=1, task_fail_after_softfail_count=5)
    async for running in run_manager(loaded):
        only = WorkerSession(running.client, name="only")
        await only.start()
        job = await submit_echo_sleep(running.client, repeats=1)
        task = await only.next_task()
        await only.update(task["uuid"], taskStatus="failed", activity="Failed")
        assert (await tasks_by_name(running.client, job["id"]))["echo"]["status"] == "failed"
        body = (await running.client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
        assert body["status"] == "failed"
