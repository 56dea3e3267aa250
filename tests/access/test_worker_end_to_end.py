"""Our Worker on a Manager with access control: it enrols with the secret and runs a job."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from support.manager_process import ManagerProcess, WorkerProcess

SECRET = "the studio's enrolment secret"


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_our_worker_enrols_and_renders_under_access_control(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = ManagerProcess(
        tmp_path / "manager",
        tmp_path / "shared",
        access_control="true",
        worker_enrolment_secret=f'"{SECRET}"',
    )
    made = subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(manager.config_path),
         "--create-token", "ana", "--role", "artist"],
        cwd=manager.directory, env=dict(os.environ), check=True, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    await manager.start()
    monkeypatch.setenv("FLAMENCO_WORKER_ENROLMENT_SECRET", SECRET)
    worker = WorkerProcess(tmp_path / "worker", manager.base_url)
    worker.start()
    try:
        async with aiohttp.ClientSession(manager.base_url, headers=headers) as session:
            job = {
                "name": "guarded echo",
                "type": "echo-sleep-test",
                "priority": 50,
                "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 1},
                "metadata": {},
            }
            async with session.post("/api/v3/jobs", json=job) as response:
                assert response.status == 200, await response.text()
                job_id = (await response.json())["id"]
            deadline = time.monotonic() + 60
            while True:
                async with session.get(f"/api/v3/jobs/{job_id}") as response:
                    status = (await response.json())["status"]
                if status == "completed":
                    break
                assert time.monotonic() < deadline, f"job is {status}\n{worker.log()[-3000:]}"
                await asyncio.sleep(0.3)
    finally:
        await worker.stop()
        await manager.stop()
    assert "registered at Manager" in worker.log()
