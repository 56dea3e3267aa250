"""A busy farm's database passes SQLite's own checks, and the Manager restarts on it."""

from __future__ import annotations

import asyncio
import io
import sqlite3

import pytest
from PIL import Image

from conftest import ConfigMaker
from flamenco.manager.services import job_deleter
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.worker_session import WorkerSession


@pytest.fixture
def database() -> str:
    """These tests are about SQLite's own files and checks."""
    return "sqlite"


# Every table a farm in use fills; each must hold rows when the checks run.
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
}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def _wait_for_status(running: RunningManager, path: str, status: int) -> None:
    async with asyncio.timeout(10):
        while (await running.client.get(path)).status != status:
            await asyncio.sleep(0.05)


async def _run_a_busy_farm(running: RunningManager) -> dict[str, str]:
    """Drive the farm through the API the way Workers, the add-on and the web interface do."""
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
    await steady.complete(echo)
    await client.post(
        f"/api/v3/worker/task/{echo['uuid']}/output-produced",
        data=_png(),  # type: ignore[arg-type]
        headers={"Content-Type": "image/png"},
        auth=steady.auth,
        expect=202,
    )
    for _ in range(2):  # Two failures: a task failure each, then the blocklist (threshold 2).
        task = await flaky.next_task()
        await flaky.update(task["uuid"], taskStatus="failed", activity="Failed: out of memory")
    await _wait_for_status(running, f"/api/v3/jobs/{job['id']}/last-rendered", 200)

    # Another job, and one that a user deleted but the deleter has not got round to.
    await submit_echo_sleep(client, name="queued job", repeats=2, worker_tag=tag["id"])
    doomed = await submit_echo_sleep(client, name="doomed job", repeats=1)
    await client.request("DELETE", f"/api/v3/jobs/{doomed['id']}", expect=204)
    return {"job": job["id"], "doomed": doomed["id"], "tag": tag["id"], "sleepy": sleepy.uuid}


async def test_busy_farm_passes_sqlite_checks_and_restarts(
    make_manager_config: ConfigMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = make_manager_config(blocklist_threshold=2, task_fail_after_softfail_count=5)

    async def deleter_not_yet(self: job_deleter.JobDeleter) -> None:
        await asyncio.Event().wait()

    with monkeypatch.context() as patched:
        patched.setattr(job_deleter.JobDeleter, "run", deleter_not_yet)
        async for running in run_manager(loaded):
            ids = await _run_a_busy_farm(running)

    conn = sqlite3.connect(loaded.database_path)
    try:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in FARM_TABLES
        }
        assert {table for table, count in counts.items() if count == 0} == set()
        assert conn.execute(
            "SELECT count(*) FROM jobs WHERE delete_requested_at IS NOT NULL"
        ).fetchone() == (1,)
        # SQLite's own checks, word for word: on Debian 12's SQLite 3.40 these
        # misreported task_failures rows before migration 0003.
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()

    # The same files, a new Manager: everything is still there, and the
    # interrupted deletion is finished.
    async for running in run_manager(loaded):
        client = running.client
        await client.get(f"/api/v3/jobs/{ids['job']}", expect=200)
        blocklist = (await client.get(f"/api/v3/jobs/{ids['job']}/blocklist", expect=200)).json()
        assert [entry["worker_name"] for entry in blocklist] == ["flaky"]
        await client.get(f"/api/v3/jobs/{ids['job']}/last-rendered", expect=200)
        tags = (await client.get("/api/v3/worker-mgt/tags", expect=200)).json()["tags"]
        assert [tag["id"] for tag in tags] == [ids["tag"]]
        await client.get(f"/api/v3/worker-mgt/workers/{ids['sleepy']}/sleep-schedule", expect=200)
        await _wait_for_status(running, f"/api/v3/jobs/{ids['doomed']}", 404)
        assert (await client.get("/api/v3/status", expect=200)).json().get("alarms") is None
