"""State that survives a Manager restart, and task logs that cannot fill the disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import ConfigMaker
from flamenco.manager import keys, persistence
from flamenco.manager.persistence import jobs
from support.factories import new_job, new_task
from support.jobs import submit_echo_sleep
from support.manager import run_manager
from support.worker_session import WorkerSession


async def test_pending_deletion_is_resumed_after_restart(make_manager_config: ConfigMaker) -> None:
    loaded = make_manager_config()
    job = new_job([new_task("a")])
    db = await persistence.open_database(loaded.database_location, busy_timeout_ms=5_000)
    job_id = await db.write(lambda conn: jobs.insert_job(conn, job))
    # A Manager that stopped after accepting the deletion, before carrying it out.
    await db.write(lambda conn: jobs.request_job_deletion(conn, job_id, job.created_at))
    await db.close()
    job_dir = loaded.local_storage_path / f"job-{job.uuid[:4]}" / job.uuid
    job_dir.mkdir(parents=True)
    (job_dir / "task-x.txt").write_text("old log\n", encoding="utf-8")

    async for running in run_manager(loaded):
        # The deleter finds the request on its own when it starts.
        async with asyncio.timeout(10):
            while (await running.client.get(f"/api/v3/jobs/{job.uuid}")).status != 404:
                await asyncio.sleep(0.05)
    assert not job_dir.exists()


async def test_task_log_is_rotated_at_its_size_cap(
    make_manager_config: ConfigMaker, tmp_path: Path
) -> None:
    async for running in run_manager(make_manager_config(task_log_max_bytes=2000)):
        worker = WorkerSession(running.client)
        await worker.start()
        await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()
        line = "x" * 99 + "\n"
        for _ in range(50):
            await worker.update(task["uuid"], log=line * 5)
        info = (await running.client.get(f"/api/v3/tasks/{task['uuid']}/log", expect=200)).json()
        assert info["size"] <= 2000
        log_path = running.app[keys.LOCAL_STORAGE].root / info["url"].removeprefix("/job-files/")
        rotated = sorted(p.name for p in log_path.parent.glob(log_path.name + ".*"))
        assert rotated == [log_path.name + ".1", log_path.name + ".2", log_path.name + ".3"]
        tail = (await running.client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
        assert tail.endswith(line)
