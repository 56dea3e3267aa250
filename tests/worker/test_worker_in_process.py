"""A real Worker against a real Manager on loopback, in the test's event loop, with short waits."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flamenco.worker import config
from flamenco.worker.client import ManagerClient
from flamenco.worker.states import Timings
from flamenco.worker.worker import Worker, WorkerOptions

FAST = Timings(
    first_fetch=0.05,
    no_task=0.2,
    fetch_failed=0.5,
    after_task=0.05,
    may_keep_running=0.5,
    asleep_poll=0.1,
)


async def submit(client: Any, job_type: str, settings: dict[str, Any]) -> dict[str, Any]:
    job = {
        "name": f"{job_type} test",
        "type": job_type,
        "priority": 50,
        "submitter_platform": "linux",
        "settings": settings,
        "metadata": {},
    }
    reply = await client.post("/api/v3/jobs", json_body=job, expect=200)
    submitted: dict[str, Any] = reply.json()
    return submitted


async def wait_for_job(
    client: Any, job_id: str, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await client.get(f"/api/v3/jobs/{job_id}", expect=200)).json()
        if job["status"] == status:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {job['status']}, not {status}")
        await asyncio.sleep(0.1)


async def task_log(client: Any, task_id: str) -> str:
    info = await client.get(f"/api/v3/tasks/{task_id}/log")
    if info.status == 204:
        return ""
    reply = await client.get(info.json()["url"], expect=200)
    return str(reply.text)


class RunningWorker:
    def __init__(self, worker: Worker, task: asyncio.Task[int]) -> None:
        self.worker = worker
        self.task = task

    async def stop(self) -> int:
        self.worker.request_stop()
        return await asyncio.wait_for(self.task, 30)


EXEC_JOB_TYPE = """
const JOB_TYPE = {
  label: "Exec Test",
  settings: [
    { key: "command", type: "string", default: "exec" },
    { key: "exe", type: "string" },
    { key: "args", type: "string", default: "[]" },
  ],
};

function compileJob(job) {
  const task = author.Task("run", "misc");
  const parameters = { exe: job.settings.exe, args: JSON.parse(job.settings.args) };
  task.addCommand(author.Command(job.settings.command, parameters));
  job.addTask(task);
}
"""


@pytest.fixture
def exec_job_type(manager_yaml: Path) -> str:
    """A custom job type, loaded from the scripts directory beside the Manager's configuration."""
    scripts = manager_yaml.parent / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "exec_test.js").write_text(EXEC_JOB_TYPE, encoding="utf-8")
    return "exec-test"


async def only_task(client: Any, job_id: str) -> dict[str, Any]:
    tasks = (await client.get(f"/api/v3/jobs/{job_id}/tasks", expect=200)).json()["tasks"]
    assert len(tasks) == 1
    task: dict[str, Any] = (await client.get(f"/api/v3/tasks/{tasks[0]['id']}", expect=200)).json()
    return task


@pytest.fixture
async def start_worker(
    manager: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    running: list[RunningWorker] = []

    async def start(
        *, streaming: bool = True, name: str = "in-process", **settings: Any
    ) -> RunningWorker:
        cfg = config.WorkerConfig(worker_name=name, manager_url=manager.base_url, **settings)
        worker = Worker(
            WorkerOptions(
                config=cfg, home=tmp_path / f"home-{name}", timings=FAST, handle_signals=False
            )
        )
        if not streaming:

            async def no_stream(self: ManagerClient) -> bool:
                return False

            monkeypatch.setattr(ManagerClient, "offers_log_stream", no_stream)
        handle = RunningWorker(worker, asyncio.create_task(worker.run()))
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if not handle.task.done():
            await handle.stop()


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "batched"])
async def test_echo_sleep_job_completes(manager: Any, start_worker: Any, streaming: bool) -> None:
    job = await submit(
        manager.client,
        "echo-sleep-test",
        {"message": "hello from the test", "sleep_duration_seconds": 1, "sleep_repeats": 1},
    )
    running = await start_worker(streaming=streaming)
    done = await wait_for_job(manager.client, job["id"], "completed")
    assert (running.worker.log_stream is not None) is streaming
    assert await running.stop() == 1
    assert done["steps_completed"] == done["steps_total"]
    tasks = (await manager.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
    logs = {task["name"]: await task_log(manager.client, task["id"]) for task in tasks["tasks"]}
    assert 'echo: "hello from the test"' in logs["echo"]
    assert "slept 1s" in logs["sleep"]
    assert logs["echo"].index("echo: ") < logs["echo"].index(
        "task changed status active -> completed"
    )
    workers = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert [w["status"] for w in workers["workers"]] == ["offline"]


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "batched"])
async def test_output_reaches_the_log_while_the_command_runs_and_cancel_stops_it(
    manager: Any, start_worker: Any, exec_job_type: str, tmp_path: Path, streaming: bool
) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import os, time; "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "print('line from the command', flush=True); time.sleep(60)"
    )
    job = await submit(
        manager.client, exec_job_type, {"exe": sys.executable, "args": json.dumps(["-c", script])}
    )
    await start_worker(streaming=streaming)
    task = await only_task(manager.client, job["id"])
    deadline = time.monotonic() + 20
    while "line from the command" not in await task_log(manager.client, task["id"]):
        assert time.monotonic() < deadline, "the line never reached the Manager"
        await asyncio.sleep(0.05)
    # Seen while the command still runs, not when it ended.
    assert (await only_task(manager.client, job["id"]))["status"] == "active"
    pid = int(pid_file.read_text())

    await manager.client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "cancel-requested", "reason": "test"},
        expect=204,
    )
    await wait_for_job(manager.client, job["id"], "canceled")
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, "the command kept running after the cancel"
        await asyncio.sleep(0.05)


async def test_unknown_command_fails_the_task_with_a_clear_reason(
    manager: Any, start_worker: Any, exec_job_type: str
) -> None:
    job = await submit(manager.client, exec_job_type, {"command": "bogus", "exe": "x"})
    await start_worker()
    await wait_for_job(manager.client, job["id"], "failed")
    task = await only_task(manager.client, job["id"])
    assert task["activity"] == 'Failed: unknown command: "bogus"'
    assert 'Failed: unknown command: "bogus"' in await task_log(manager.client, task["id"])


COMMAND_JOB_TYPE = """
const JOB_TYPE = {
  label: "Command Test",
  settings: [
    { key: "command", type: "string" },
    { key: "parameters", type: "string", default: "{}" },
  ],
};

function compileJob(job) {
  const task = author.Task("run", "misc");
  task.addCommand(author.Command(job.settings.command, JSON.parse(job.settings.parameters)));
  job.addTask(task);
}
"""

# Debian's Blender is built without OpenImageDenoise, so asking for it fails the render.
DENOISE = (
    "import bpy; scene = bpy.context.scene; scene.render.engine = 'CYCLES'; "
    "scene.cycles.samples = 1; scene.cycles.use_denoising = True; "
    "scene.render.resolution_x = 16; scene.render.resolution_y = 16"
)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(
    shutil.which("blender") is None or shutil.which("ffmpeg") is None,
    reason="needs blender and ffmpeg on the PATH",
)
@pytest.mark.parametrize("program", ["blender", "ffmpeg"])
async def test_a_failed_render_says_why(
    manager: Any, manager_yaml: Path, start_worker: Any, tmp_path: Path, program: str
) -> None:
    scripts = manager_yaml.parent / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "command_test.js").write_text(COMMAND_JOB_TYPE, encoding="utf-8")
    if program == "blender":
        command = "blender-render"
        parameters: dict[str, Any] = {
            "exe": "blender",
            "argsBefore": ["-b", "--factory-startup"],
            "args": ["--python-expr", DENOISE, "-o", f"{tmp_path}/frame_", "-f", "1"],
        }
        said = "Error: Build without OpenImageDenoiser"
    else:
        command = "frames-to-video"
        frames = tmp_path / "frames"
        frames.mkdir()
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "color=c=red:s=16x16:d=0.1",
                str(frames / "frame_%03d.png"),
            ],
            check=True,
            timeout=60,
        )
        output = tmp_path / "no-such-folder" / "video.mp4"
        parameters = {
            "exe": "ffmpeg",
            "fps": 24,
            "inputGlob": str(frames / "*.png"),
            "outputFile": str(output),
        }
        said = f"{output}: No such file or directory"
    job = await submit(
        manager.client,
        "command-test",
        {"command": command, "parameters": json.dumps(parameters)},
    )
    await start_worker()
    await wait_for_job(manager.client, job["id"], "failed", timeout=90)
    task = await only_task(manager.client, job["id"])
    reason = f"Failed: command exited abnormally with code 1: {said}"
    assert task["activity"] == reason
    assert reason in await task_log(manager.client, task["id"])
    failed_job = (await manager.client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
    assert failed_job["status"] == "failed"


@pytest.mark.skipif(shutil.which("blender") is None, reason="needs blender on the PATH")
async def test_blender_sees_only_the_gpus_the_worker_is_pinned_to(
    manager: Any, manager_yaml: Path, start_worker: Any, tmp_path: Path
) -> None:
    scripts = manager_yaml.parent / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "command_test.js").write_text(COMMAND_JOB_TYPE, encoding="utf-8")
    shown = " ".join(f"{name}={{os.environ.get('{name}')}}" for name in PINNING_VARIABLES)
    parameters = {
        "exe": "blender",
        "argsBefore": ["-b", "--factory-startup"],
        "args": ["--python-expr", f'import os; print(f"SEEN {shown}")'],
    }
    job = await submit(
        manager.client,
        "command-test",
        {"command": "blender-render", "parameters": json.dumps(parameters)},
    )
    await start_worker(gpu_devices="1", render_environment=(("FLAMENCO_TEST_MARK", "pinned"),))
    await wait_for_job(manager.client, job["id"], "completed", timeout=90)
    log = await task_log(manager.client, (await only_task(manager.client, job["id"]))["id"])
    assert (
        "SEEN CUDA_VISIBLE_DEVICES=1 HIP_VISIBLE_DEVICES=1 "
        "ONEAPI_DEVICE_SELECTOR=level_zero:1 FLAMENCO_TEST_MARK=pinned"
    ) in log


PINNING_VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ONEAPI_DEVICE_SELECTOR",
    "FLAMENCO_TEST_MARK",
)


async def worker_id(client: Any) -> str:
    for _ in range(200):
        workers = (await client.get("/api/v3/worker-mgt/workers", expect=200)).json()["workers"]
        if workers and workers[0]["status"] == "awake":
            return str(workers[0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the Worker never woke up")


@pytest.mark.parametrize(
    ("status", "restart_exit_code", "exit_code"), [("offline", 0, 0), ("restart", 42, 42)]
)
async def test_manager_shuts_down_or_restarts_the_worker(
    manager: Any, tmp_path: Path, status: str, restart_exit_code: int, exit_code: int
) -> None:
    cfg = config.WorkerConfig(
        worker_name="restartable",
        manager_url=manager.base_url,
        restart_exit_code=restart_exit_code,
    )
    worker = Worker(
        WorkerOptions(config=cfg, home=tmp_path / "home", timings=FAST, handle_signals=False)
    )
    running = asyncio.create_task(worker.run())
    identifier = await worker_id(manager.client)
    await manager.client.post(
        f"/api/v3/worker-mgt/workers/{identifier}/setstatus",
        json_body={"status": status, "is_lazy": False},
        expect=204,
    )
    assert await asyncio.wait_for(running, 20) == exit_code
    details = (await manager.client.get(f"/api/v3/worker-mgt/workers/{identifier}")).json()
    assert details["status"] == "offline"


async def test_worker_sleeps_and_wakes(manager: Any, start_worker: Any) -> None:
    running = await start_worker()
    identifier = await worker_id(manager.client)
    path = f"/api/v3/worker-mgt/workers/{identifier}"
    await manager.client.post(
        path + "/setstatus", json_body={"status": "asleep", "is_lazy": True}, expect=204
    )
    await _wait_until_both_say(manager.client, path, running, "asleep")
    await manager.client.post(
        path + "/setstatus", json_body={"status": "awake", "is_lazy": False}, expect=204
    )
    await _wait_until_both_say(manager.client, path, running, "awake")


async def _wait_until_both_say(client: Any, path: str, running: Any, status: str) -> None:
    """Wait for the Worker's own state and the Manager's record of it to agree on `status`.

    The Worker changes state first and tells the Manager in its next request, so either
    side can be a moment behind the other.
    """
    manager_says = worker_says = ""
    for _ in range(400):
        manager_says = (await client.get(path)).json()["status"]
        worker_says = running.worker.machine.state
        if manager_says == worker_says == status:
            return
        await asyncio.sleep(0.05)
    assert (manager_says, worker_says) == (status, status)


async def test_lost_credentials_mean_registering_again(manager: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    config.save_credentials(
        home / config.CREDENTIALS_FILENAME, config.Credentials("not-known-here", "secret")
    )
    cfg = config.WorkerConfig(worker_name="forgotten", manager_url=manager.base_url)
    worker = Worker(WorkerOptions(config=cfg, home=home, timings=FAST, handle_signals=False))
    running = asyncio.create_task(worker.run())
    identifier = await worker_id(manager.client)
    credentials = config.load_credentials(home / config.CREDENTIALS_FILENAME)
    assert credentials is not None
    assert credentials.worker_id == identifier != "not-known-here"
    worker.request_stop()
    assert await asyncio.wait_for(running, 20) == 1
