"""Shared parts of the Manager benchmarks: a Manager process, simulated Workers, figures."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp


def manager_yaml(
    port: int,
    shared: Path,
    *,
    name: str = "Benchmark Farm",
    shaman: bool = False,
    database: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> str:
    """A Manager configuration for benchmarks: loopback only, no autodiscovery.

    `database` is a PostgreSQL URL, or None for the default SQLite file;
    `settings` are more keys with their values, as YAML text.
    """
    text = f"""\
_meta:
  version: 3
manager_name: {name}
listen: 127.0.0.1:{port}
local_manager_storage_path: ./storage
shared_storage_path: {shared}
autodiscoverable: false
shaman:
  enabled: {str(shaman).lower()}
"""
    if database is not None:
        text += f"database: {database!r}\n"
    for key, value in (settings or {}).items():
        text += f"{key}: {value}\n"
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


def basic_auth(worker_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{worker_id}:{secret}".encode()).decode()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def render_job(name: str, frames: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "simple-blender-render",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {
            "blendfile": "/render/shots/benchmark.flamenco.blend",
            "chunk_size": 1,
            "format": "PNG",
            "fps": 24.0,
            "frames": f"1-{frames}",
            "image_file_extension": ".png",
            "render_output_root": "/render/out",
            "add_path_components": 0,
            "render_output_path": "/render/out/benchmark/{timestamp}/######",
            "scene": "Scene",
        },
    }


async def register(session: aiohttp.ClientSession, base_url: str, name: str) -> str:
    secret = secrets.token_hex(16)
    async with session.post(
        base_url + "/api/v3/worker/register-worker",
        json={
            "name": name,
            "platform": "linux",
            "secret": secret,
            "supported_task_types": ["misc", "blender", "ffmpeg"],
        },
    ) as response:
        worker_id = (await response.json())["uuid"]
    auth = basic_auth(worker_id, secret)
    body = {
        "name": name,
        "supported_task_types": ["misc", "blender", "ffmpeg"],
        "software_version": "bench",
    }
    async with session.post(
        base_url + "/api/v3/worker/sign-on", json=body, headers={"Authorization": auth}
    ) as response:
        status = (await response.json())["status_requested"]
    async with session.post(
        base_url + "/api/v3/worker/state-changed",
        json={"status": status},
        headers={"Authorization": auth},
    ) as response:
        assert response.status == 204
    return auth


async def schedule(
    session: aiohttp.ClientSession, base_url: str, auth: str
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    async with session.post(
        base_url + "/api/v3/worker/task", headers={"Authorization": auth}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"scheduleTask answered {response.status}: {body}")
    return time.perf_counter() - started, body


async def in_batches(coroutines: list[Any], size: int) -> list[Any]:
    results = []
    for start in range(0, len(coroutines), size):
        results += await asyncio.gather(*coroutines[start : start + size])
    return results


@dataclass
class ManagerUnderTest:
    base_url: str
    pid: int


@contextlib.asynccontextmanager
async def manager_process(
    database: str | None = None, settings: Mapping[str, str] | None = None
) -> AsyncIterator[ManagerUnderTest]:
    """A Manager in its own process and temporary directory, like a real one.

    `database` is a PostgreSQL URL, or None for an SQLite file in that directory;
    `settings` are more configuration keys (see manager_yaml()). The Manager logs
    nothing, unless FLAMENCO_BENCH_MANAGER_LOG names a file for its whole log: what
    it did during a run that went wrong (a request refused, say).
    """
    with tempfile.TemporaryDirectory(prefix="flamenco-bench-") as directory:
        root = Path(directory)
        (root / "shared").mkdir()
        port = free_port()
        (root / "flamenco-manager.yaml").write_text(
            manager_yaml(port, root / "shared", database=database, settings=settings)
        )
        log_path = os.environ.get("FLAMENCO_BENCH_MANAGER_LOG")
        with open(log_path or os.devnull, "w", encoding="utf-8") as log:
            quiet = [] if log_path else ["--quiet"]
            process = subprocess.Popen(
                [sys.executable, "-m", "flamenco.manager", *quiet], cwd=root, stderr=log
            )
            base_url = f"http://127.0.0.1:{port}"
            try:
                await wait_until_up(base_url + "/api/v3/version")
                yield ManagerUnderTest(base_url, process.pid)
            finally:
                process.terminate()
                process.wait()


def probe_scheduling(base_url: str, worker_auth: str, stop: Any, results: Any) -> None:
    """In its own process, like a Worker on another machine: ask for tasks until told to stop.

    Appends (when the call started on the monotonic clock, how long it took) to results.
    """

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                started = time.monotonic()
                duration, body = await schedule(session, base_url, worker_auth)
                results.append((started, duration))
                # Hand the task straight back, so the next call schedules again.
                async with session.post(
                    f"{base_url}/api/v3/worker/task/{body['uuid']}",
                    json={"taskStatus": "queued"},
                    headers={"Authorization": worker_auth},
                ) as response:
                    await response.read()
                await asyncio.sleep(0.02)

    asyncio.run(probe())


class SchedulingProbe:
    """One Worker asking for tasks all along, from a process at normal priority."""

    def __init__(self, base_url: str, worker_auth: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._shared = context.Manager()
        self._stop, self._results = self._shared.Event(), self._shared.list()
        self._process = context.Process(
            target=probe_scheduling, args=(base_url, worker_auth, self._stop, self._results)
        )
        self._process.start()

    def latencies_since(self, since: float) -> list[float]:
        return [duration for started, duration in list(self._results) if started >= since]

    def close(self) -> None:
        self._stop.set()
        self._process.join()
        self._shared.shutdown()


def report_latencies(latencies: list[float], when: str, target: str = "") -> None:
    """Print scheduleTask's latency figures, one line."""
    if latencies:
        print(
            f"  scheduleTask {when}: {len(latencies)} calls, p50"
            f" {statistics.median(latencies) * 1000:.1f} ms, p90"
            f" {percentile(latencies, 0.9) * 1000:.1f} ms, p99"
            f" {percentile(latencies, 0.99) * 1000:.1f} ms{target}"
        )


def file_creation_us() -> float:
    """CPU time to create an empty file where the Manager keeps its files (TMPDIR).

    Every task the Manager hands out gets its log file then: on a crowded file
    system, creating files can cost more than all the rest of scheduling.
    """
    files = 200
    with tempfile.TemporaryDirectory(prefix="flamenco-bench-") as directory:
        started = time.process_time()
        for number in range(files):
            os.close(os.open(os.path.join(directory, f"task-{number}.txt"), os.O_CREAT, 0o666))
        return (time.process_time() - started) / files * 1e6
