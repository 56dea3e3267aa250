"""A farm driven through the API until every table of its database holds rows."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from flamenco.manager import keys
from flamenco.manager.services import job_deleter
from support.jobs import submit_echo_sleep
from support.manager import RunningManager
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

# Every table a farm in use fills; each holds rows after `run_a_busy_farm`.
FARM_TABLES = {
    "workers",
    "worker_tags",
    "worker_tag_membership",
    "sleep_schedules",
    "jobs",
    "tasks",
    "task_dependencies",
    "task_failures",
    "job_blocks",
    "last_rendereds",
    "job_task_counts",
    "task_runs",
    "frame_statistics",
}

# A frame as Blender 3.4 reports it, so that the farm has render statistics.
BLENDER_FRAME_LOG = (
    "pid=4242 > Fra:1 Mem:8.47M (Peak 10.20M) | Time:00:00.00 | Mem:0.00M, Peak:0.00M | "
    "Scene, ViewLayer | Finished\n"
    "pid=4242 > Saved: '/render/busy/000001.png'\n"
    "pid=4242 >  Time: 00:00.20 (Saving: 00:00.16)\n"
)

# What the farm's Manager needs: a blocklist after two failures, no task failed for good yet.
BUSY_FARM_SETTINGS: dict[str, Any] = {"blocklist_threshold": 2, "task_fail_after_softfail_count": 5}


@dataclass(frozen=True)
class BusyFarm:
    job: str  # Job id: dependencies, a completed task with a log, failures, a blocklist, an image.
    queued: str  # Job id: queued for the tag.
    doomed: str  # Job id: deleted by a user, not yet by the job deleter.
    tag: str
    steady: WorkerSession  # In the tag; completed the first job's echo task.
    flaky: WorkerSession  # Blocklisted from the first job.
    sleepy: WorkerSession  # Has a sleep schedule.
    echo_task: str  # Task id of the first job's completed echo task.


async def never_delete_jobs(self: job_deleter.JobDeleter) -> None:
    """Stands in for JobDeleter.run, so that a deleted job stays awaiting deletion."""
    await asyncio.Event().wait()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def wait_for_status(running: RunningManager, path: str, status: int) -> None:
    async with asyncio.timeout(10):
        while (await running.client.get(path)).status != status:
            await asyncio.sleep(0.05)


async def run_a_busy_farm(running: RunningManager) -> BusyFarm:
    """Drive the farm through the API the way Workers, the add-on and the web interface do.

    The Manager needs BUSY_FARM_SETTINGS; patch its job deleter with
    `never_delete_jobs` to keep the deleted job.
    """
    client = running.client
    steady = WorkerSession(client, name="steady")
    flaky = WorkerSession(client, name="flaky")
    sleepy = WorkerSession(client, name="sleepy")
    for worker in (steady, flaky, sleepy):
        await worker.start()

    tag = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    await client.post(
        f"/api/v3/worker-mgt/workers/{steady.uuid}/settags",
        json_body={"tag_ids": [tag["id"]]},
        expect=204,
    )
    await client.post(
        f"/api/v3/worker-mgt/workers/{sleepy.uuid}/sleep-schedule",
        json_body={"is_active": True, "days_of_week": "", "start_time": "0:00", "end_time": "0:01"},
        expect=204,
    )

    # A job with dependencies (its sleep tasks wait for its echo task), failures and a blocklist.
    job = await submit_echo_sleep(client, name="busy job", repeats=4)
    echo = await steady.next_task()
    await steady.update(echo["uuid"], log=BLENDER_FRAME_LOG)
    await steady.complete(echo)
    await running.app[keys.FRAME_RECORDER].flush()
    await client.post(
        f"/api/v3/worker/task/{echo['uuid']}/output-produced",
        data=png(),  # type: ignore[arg-type]
        headers={"Content-Type": "image/png"},
        auth=steady.auth,
        expect=202,
    )
    for _ in range(2):  # Two failures: a task failure each, then the blocklist (threshold 2).
        task = await flaky.next_task()
        await flaky.update(task["uuid"], taskStatus="failed", activity="Failed: out of memory")
    await wait_for_status(running, f"/api/v3/jobs/{job['id']}/last-rendered", 200)

    # Another job, and one that a user deleted but the deleter has not got round to.
    queued = await submit_echo_sleep(client, name="queued job", repeats=2, worker_tag=tag["id"])
    doomed = await submit_echo_sleep(client, name="doomed job", repeats=1)
    await client.request("DELETE", f"/api/v3/jobs/{doomed['id']}", expect=204)
    return BusyFarm(
        job=job["id"],
        queued=queued["id"],
        doomed=doomed["id"],
        tag=tag["id"],
        steady=steady,
        flaky=flaky,
        sleepy=sleepy,
        echo_task=echo["uuid"],
    )


async def farm_as_seen(client: SpecCheckedClient, farm: BusyFarm) -> dict[str, Any]:
    """What the API shows of the farm: jobs, their tasks, Workers, tags, blocklist, schedule."""
    jobs = (await client.get("/api/v3/jobs", expect=200)).json()["jobs"]
    seen: dict[str, Any] = {
        "jobs": sorted(jobs, key=lambda job: job["id"]),
        "tasks": {
            job["id"]: (await client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
            for job in jobs
        },
        "workers": sorted(
            (await client.get("/api/v3/worker-mgt/workers", expect=200)).json()["workers"],
            key=lambda worker: worker["id"],
        ),
        "tags": (await client.get("/api/v3/worker-mgt/tags", expect=200)).json(),
        "blocklist": (await client.get(f"/api/v3/jobs/{farm.job}/blocklist", expect=200)).json(),
        "sleep_schedule": (
            await client.get(
                f"/api/v3/worker-mgt/workers/{farm.sleepy.uuid}/sleep-schedule", expect=200
            )
        ).json(),
        "last_rendered": (
            await client.get(f"/api/v3/jobs/{farm.job}/last-rendered", expect=200)
        ).json(),
        "echo_log": (await client.get(f"/api/v3/tasks/{farm.echo_task}/logtail", expect=200)).text,
    }
    return seen
