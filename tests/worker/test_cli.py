"""The `python -m flamenco.worker` command line: version, bad configuration, and --flush."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from flamenco.worker import config
from flamenco.worker.client import Answer, ManagerUnreachable
from flamenco.worker.upstream_buffer import UpstreamBuffer
from support.fakes import FakeClock
from support.manager_process import WorkerProcess, child_processes
from support.worker_session import WorkerSession


def worker_cli(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flamenco.worker", *args],
        cwd=cwd,
        env={**os.environ, "FLAMENCO_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = worker_cli("-version", cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0
    assert result.stdout.startswith("Flamenco Worker 3.9")


def test_bad_configuration_exits_with_1(tmp_path: Path) -> None:
    (tmp_path / "flamenco-worker.yaml").write_text("task_types: everything\n", encoding="utf-8")
    result = worker_cli(cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 1
    assert "invalid configuration" in result.stderr


class ManagerAway:
    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer:
        raise ManagerUnreachable("away")


async def test_flush_sends_queued_updates_and_exits(manager: Any, tmp_path: Path) -> None:
    session = WorkerSession(manager.client, name="flusher")
    await session.start()
    job = {
        "name": "flush test",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }
    await manager.client.post("/api/v3/jobs", json_body=job, expect=200)
    task = await session.next_task()

    home = tmp_path / "home"
    config.save_credentials(
        home / config.CREDENTIALS_FILENAME, config.Credentials(session.uuid, session.secret)
    )
    buffer = UpstreamBuffer(ManagerAway(), FakeClock(), home / config.DATABASE_FILENAME)
    await buffer.open()
    await buffer.send(task["uuid"], {"log": "queued while the Manager was away\n"})
    await buffer.send(task["uuid"], {"taskStatus": "completed", "activity": "Completed"})
    await buffer.close()

    result = await asyncio.to_thread(
        worker_cli, "--flush", "--manager", manager.base_url, cwd=tmp_path, home=home
    )
    assert result.returncode == 0, result.stderr
    tail = await manager.client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)
    assert "queued while the Manager was away" in tail.text
    finished = (await manager.client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
    assert finished["status"] == "completed"
    workers = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert [worker["status"] for worker in workers["workers"]] == ["offline"]


async def test_sigterm_stops_the_command_signs_off_and_exits_1(
    manager: Any, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"  # beside the Manager's configuration file
    scripts.mkdir(exist_ok=True)
    (scripts / "long_sleep.js").write_text(
        'const JOB_TYPE = { label: "Long", settings: [] };\n'
        "function compileJob(job) {\n"
        '  const task = author.Task("long", "misc");\n'
        '  task.addCommand(author.Command("exec", { exe: "sleep", args: ["300"] }));\n'
        "  job.addTask(task);\n"
        "}\n",
        encoding="utf-8",
    )
    job = {
        "name": "long",
        "type": "long-sleep",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {},
        "metadata": {},
    }
    job_id = (await manager.client.post("/api/v3/jobs", json_body=job, expect=200)).json()["id"]
    worker = WorkerProcess(tmp_path / "worker", manager.base_url)
    worker.start()
    try:
        for _ in range(300):
            if any("sleep" in cmd for _, cmd in child_processes(worker.pid)):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(worker.log())
        sleeper = child_processes(worker.pid)[0][0]
        assert await worker.stop(timeout=25) == 1
    finally:
        await worker.stop()
    assert not Path(f"/proc/{sleeper}").exists()
    tasks = (await manager.client.get(f"/api/v3/jobs/{job_id}/tasks", expect=200)).json()
    # Signing off hands the task back to the Manager.
    assert tasks["tasks"][0]["status"] == "queued"
    assert "signing off at Manager" in worker.log()
