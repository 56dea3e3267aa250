"""Benchmark of the Manager over real HTTP: task updates, scheduling, submission and memory.

Run with `python benchmarks/bench_manager.py` (about two minutes). It starts a
bare aiohttp JSON endpoint as the baseline for this machine, then a real
Manager in its own process, and prints each figure with its ratio to the
baseline and its target:

- taskUpdate with a log line each, from 1,000 simulated Workers: at least 2,000/s,
  p99 under 50 ms;
- scheduleTask with 100,000 queued tasks in 100 jobs: p99 under 20 ms;
- submitting a 10,000-frame job (10,001 tasks): under 2 s;
- Manager memory with 100,000 tasks stored: under 200 MB.

`--only limits` (also part of the full run) measures resource limits and the
scheduling explainer, against fetchJob's latency in the same run as baseline:

- scheduleTask with 100,000 queued tasks where half the jobs have a
  max_workers and take a farm-wide limit, and half of each kind wait for
  another job, with the limit soon exhausted: p99 under 20 ms;
- the explainer for a job among 10,000: under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from loadgen import (
    basic_auth,
    free_port,
    in_batches,
    manager_process,
    percentile,
    register,
    render_job,
    rss_megabytes,
    schedule,
    wait_until_up,
)

WORKERS = 1000
LOAD_SECONDS = 15.0
CONCURRENCY = 200
SCHEDULE_JOBS = 100
SCHEDULE_TASKS_PER_JOB = 1000
SCHEDULE_CALLS = 1000
# Set with --profile: record the Manager with py-spy during the task update load.
PROFILE_OUTPUT: list[str] = []

BASELINE_APP = textwrap.dedent(
    """
    import sys
    from aiohttp import web

    async def update(request):
        await request.json()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/api/v3/worker/task/{task_id}", update)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


@dataclass
class Simulated:
    auth: str
    task_id: str


async def hammer(
    session: aiohttp.ClientSession, base_url: str, clients: list[Simulated], seconds: float
) -> tuple[int, list[float]]:
    """Send task updates with a log line each, round robin over the Workers."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = 0

    async def one_connection(offset: int) -> None:
        nonlocal counter
        index = offset
        while time.perf_counter() < deadline:
            client = clients[index % len(clients)]
            index += CONCURRENCY
            body = json.dumps({"log": f"Fra:{index} Mem:12.3M | Rendering tile {index}\n"})
            started = time.perf_counter()
            async with session.post(
                f"{base_url}/api/v3/worker/task/{client.task_id}",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": client.auth},
            ) as response:
                await response.read()
                if response.status != 204:
                    raise RuntimeError(f"task update answered {response.status}")
            latencies.append(time.perf_counter() - started)
            counter += 1

    await asyncio.gather(*(one_connection(offset) for offset in range(CONCURRENCY)))
    return counter, latencies


async def like_real_workers(
    session: aiohttp.ClientSession, base_url: str, clients: list[Simulated], seconds: float
) -> tuple[int, list[float]]:
    """Each Worker reports progress with log lines every second and asks may-i-run every 10 s."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one_worker(number: int, client: Simulated) -> None:
        headers = {"Content-Type": "application/json", "Authorization": client.auth}
        # Spread the Workers over the second, as real ones are.
        await asyncio.sleep(number / len(clients))
        beat = 0
        while time.perf_counter() < deadline:
            tick = time.perf_counter()
            body = json.dumps(
                {"log": f"Fra:{beat} Mem:12.3M | Sample {beat}/128\n", "steps_completed": 0}
            )
            async with session.post(
                f"{base_url}/api/v3/worker/task/{client.task_id}", data=body, headers=headers
            ) as response:
                await response.read()
            if beat % 10 == 0:
                async with session.get(
                    f"{base_url}/api/v3/worker/task/{client.task_id}/may-i-run", headers=headers
                ) as response:
                    await response.read()
            if beat:  # The first round also opens the connection.
                latencies.append(time.perf_counter() - tick)
            beat += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))

    await asyncio.gather(*(one_worker(n, c) for n, c in enumerate(clients)))
    return len(latencies), latencies


async def baseline(seconds: float) -> float:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", BASELINE_APP, str(port)])
    try:
        base_url = f"http://127.0.0.1:{port}"
        await wait_until_up(base_url + "/")
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            clients = [Simulated("", "00000000-0000-4000-8000-000000000000")]
            count, _ = await hammer(session, base_url, clients, seconds)
        return count / seconds
    finally:
        process.terminate()
        process.wait()


def echo_job(name: str, repeats: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "benchmark", "sleep_duration_seconds": 1, "sleep_repeats": repeats},
    }


LIMITED_RENDER_JS = """
// Benchmark job type: `frames` independent blender tasks, each taking a render licence.
const JOB_TYPE = {
  label: "Licensed Render",
  settings: [{ key: "frames", type: "int32", default: 10 }],
  resourceLimits: { blender: ["render-licence"] },
};
function compileJob(job) {
  for (let frame = 1; frame <= job.settings.frames; frame++) {
    const task = author.Task(`frame-${frame}`, "blender");
    task.addCommand(author.Command("echo", { message: `frame ${frame}` }));
    job.addTask(task);
  }
}
"""
LIMIT_JOBS = 100  # half limited (max_workers and a licence), half render jobs with dependencies
LIMIT_TASKS_PER_JOB = 1000
LIMIT_CAPACITY = 100
LIMIT_MAX_WORKERS = 3
LIMIT_WORKERS = 300
EXPLAIN_JOBS = 10_000
EXPLAIN_CALLS = 200


async def register_worker(session: aiohttp.ClientSession, base_url: str, name: str) -> str:
    """A Worker that runs blender tasks and is awake."""
    secret = secrets.token_hex(16)
    task_types = ["misc", "blender", "ffmpeg"]
    body = {"name": name, "platform": "linux", "secret": secret}
    async with session.post(
        base_url + "/api/v3/worker/register-worker",
        json={**body, "supported_task_types": task_types},
    ) as response:
        worker_id = (await response.json())["uuid"]
    auth = basic_auth(worker_id, secret)
    headers = {"Authorization": auth}
    sign_on = {"name": name, "supported_task_types": task_types, "software_version": "bench"}
    async with session.post(
        base_url + "/api/v3/worker/sign-on", json=sign_on, headers=headers
    ) as response:
        status = (await response.json())["status_requested"]
    async with session.post(
        base_url + "/api/v3/worker/state-changed", json={"status": status}, headers=headers
    ) as response:
        assert response.status == 204
    return auth


async def submit(session: aiohttp.ClientSession, base_url: str, job: dict[str, Any]) -> str:
    async with session.post(base_url + "/api/v3/jobs", json=job) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["id"])


async def timed_get(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        await response.read()
    return time.perf_counter() - started


def figures(durations: list[float]) -> str:
    median = statistics.median(durations) * 1000
    return f"p50 {median:.1f} ms, p99 {percentile(durations, 0.99) * 1000:.1f} ms"


async def run_limits(database: str | None) -> None:
    """Resource limits and the explainer, in a Manager of their own."""
    with tempfile.TemporaryDirectory(prefix="flamenco-bench-scripts-") as scripts:
        (Path(scripts) / "licensed_render.js").write_text(LIMITED_RENDER_JS, encoding="utf-8")
        settings = {
            "resource_limits": f"{{render-licence: {LIMIT_CAPACITY}}}",
            "job_scripts_path": scripts,
        }
        async with manager_process(database, settings) as manager:
            connector = aiohttp.TCPConnector(limit=CONCURRENCY)
            async with aiohttp.ClientSession(connector=connector) as session:
                await benchmark_limits(session, manager.base_url)


async def benchmark_limits(session: aiohttp.ClientSession, base_url: str) -> None:
    print(
        f"queueing {LIMIT_JOBS} jobs of {LIMIT_TASKS_PER_JOB} tasks, half with max_workers "
        f"{LIMIT_MAX_WORKERS} and a licence ({LIMIT_CAPACITY} in the farm), half of each kind "
        "waiting for another job ...",
        flush=True,
    )
    limited: list[str] = []
    renders: list[str] = []
    for number in range(LIMIT_JOBS // 2):
        render = render_job(f"render-{number}", LIMIT_TASKS_PER_JOB - 1)
        if number % 2 and renders:
            # Every other render waits for the one before it (job dependencies).
            render["depends_on"] = [renders[-1]]
        renders.append(await submit(session, base_url, render))
        job = {
            "name": f"limited-{number}",
            "type": "licensed-render",
            # Above the render jobs: the scheduler meets full jobs and an exhausted
            # limit first and must look past them.
            "priority": 60,
            "submitter_platform": "linux",
            "settings": {"frames": LIMIT_TASKS_PER_JOB},
            "max_workers": LIMIT_MAX_WORKERS,
        }
        if number % 2:
            # Half the limited jobs wait for a render too.
            job["depends_on"] = [renders[-1]]
        limited.append(await submit(session, base_url, job))
    print(f"registering {LIMIT_WORKERS} Workers ...", flush=True)
    auths = await in_batches(
        [register_worker(session, base_url, f"limits-{n:04d}") for n in range(LIMIT_WORKERS)], 50
    )

    print(f"scheduleTask for {LIMIT_WORKERS} Workers, one request at a time ...", flush=True)
    durations = []
    handed_out: list[dict[str, Any]] = []
    for auth in auths:
        duration, body = await schedule(session, base_url, auth)
        durations.append(duration)
        handed_out.append(body)
    limited_ids = set(limited)
    on_limited = sum(task["job"] in limited_ids for task in handed_out)
    print(
        f"  {on_limited} tasks of limited jobs (capacity {LIMIT_CAPACITY}), "
        f"{len(handed_out) - on_limited} of others"
    )
    assert on_limited <= LIMIT_CAPACITY
    fetch_job = [
        await timed_get(session, f"{base_url}/api/v3/jobs/{limited[n % len(limited)]}")
        for n in range(EXPLAIN_CALLS)
    ]
    print(f"  scheduleTask: {figures(durations)} (target p99 < 20 ms)")
    print(f"  baseline fetchJob: {figures(fetch_job)}")
    ratio = percentile(durations, 0.99) / percentile(fetch_job, 0.99)
    print(f"  scheduleTask p99 = {ratio:.1f} x fetchJob p99")

    others = EXPLAIN_JOBS - LIMIT_JOBS
    print(f"queueing {others:,} more small jobs, to explain a job among {EXPLAIN_JOBS:,} ...")
    started = time.perf_counter()
    await in_batches(
        [submit(session, base_url, echo_job(f"small-{n}", 1)) for n in range(others)], 20
    )
    print(f"  ({time.perf_counter() - started:.0f} s)")
    big = f"{base_url}/api/v3/jobs/{limited[-2]}/explain"
    explain_big = [await timed_get(session, big) for _ in range(EXPLAIN_CALLS)]
    fetch_job = [
        await timed_get(session, f"{base_url}/api/v3/jobs/{limited[-2]}")
        for _ in range(EXPLAIN_CALLS)
    ]
    async with session.get(big) as response:
        reasons = (await response.json())["reasons"]
    print(f"  explain a limited 1,000-task job: {figures(explain_big)} (target < 50 ms)")
    print(f"    its reasons: {[reason['code'] for reason in reasons]}")
    print(f"  baseline fetchJob: {figures(fetch_job)}")
    ratio = percentile(explain_big, 0.99) / percentile(fetch_job, 0.99)
    print(f"  explain p99 = {ratio:.1f} x fetchJob p99")


async def run(load_seconds: float) -> None:
    print(f"baseline: bare aiohttp JSON endpoint for {load_seconds:.0f} s ...", flush=True)
    baseline_rate = await baseline(load_seconds)
    print(f"  baseline throughput: {baseline_rate:,.0f} requests/s")

    async with manager_process() as manager:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            await benchmark_manager(
                session, manager.base_url, manager.pid, baseline_rate, load_seconds
            )


async def benchmark_manager(
    session: aiohttp.ClientSession,
    base_url: str,
    pid: int,
    baseline_rate: float,
    load_seconds: float,
) -> None:
    print(f"registering {WORKERS} Workers ...", flush=True)
    auths = await in_batches(
        [register(session, base_url, f"bench-{n:04d}") for n in range(WORKERS)], 50
    )
    async with session.post(
        base_url + "/api/v3/jobs", json=render_job("updates", WORKERS)
    ) as response:
        assert response.status == 200, await response.text()
    print("giving every Worker a task ...", flush=True)
    assigned = await in_batches([schedule(session, base_url, auth) for auth in auths], 50)
    clients = [
        Simulated(auth, body["uuid"]) for auth, (_, body) in zip(auths, assigned, strict=True)
    ]

    print(f"{WORKERS} Workers reporting like real ones, {load_seconds:.0f} s ...", flush=True)
    # One connection per Worker, as on a real farm.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WORKERS)) as own:
        count, latencies = await like_real_workers(own, base_url, clients, load_seconds)
    median = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f"  {count / load_seconds:,.0f} reports/s (a taskUpdate each, may-i-run every 10th)")
    print(f"  latency: p50 {median:.1f} ms, p99 {p99:.1f} ms (target p99 < 50 ms)")

    print(
        f"taskUpdate as fast as {CONCURRENCY} connections go, {load_seconds:.0f} s ...", flush=True
    )
    profiler = None
    if PROFILE_OUTPUT:
        command = ["py-spy", "record", "--pid", str(pid), "--duration", str(int(load_seconds))]
        command += ["--format", "raw", "-o", PROFILE_OUTPUT[0]]
        profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    count, latencies = await hammer(session, base_url, clients, load_seconds)
    if profiler is not None:
        profiler.wait()
    rate = count / load_seconds
    p99 = percentile(latencies, 0.99) * 1000
    ratio = rate / baseline_rate
    print(f"  throughput: {rate:,.0f}/s ({ratio:.2f} x baseline; target >= 2,000/s)")
    median = statistics.median(latencies) * 1000
    print(f"  latency when saturated: p50 {median:.1f} ms, p99 {p99:.1f} ms")

    print("submitting a 10,000-frame job (10,001 tasks) ...", flush=True)
    started = time.perf_counter()
    async with session.post(base_url + "/api/v3/jobs", json=render_job("big", 10_000)) as response:
        assert response.status == 200, await response.text()
    submit_seconds = time.perf_counter() - started
    print(f"  submission took {submit_seconds:.2f} s (target < 2 s)")

    print(f"queueing {SCHEDULE_JOBS} jobs of {SCHEDULE_TASKS_PER_JOB} tasks ...", flush=True)
    for number in range(SCHEDULE_JOBS - 1):
        async with session.post(
            base_url + "/api/v3/jobs",
            json=render_job(f"queued-{number}", SCHEDULE_TASKS_PER_JOB - 1),
        ) as response:
            assert response.status == 200
    rss = rss_megabytes(pid)
    stored = SCHEDULE_JOBS * SCHEDULE_TASKS_PER_JOB + 10_000 + WORKERS
    print(f"  Manager memory with ~{stored:,} tasks stored: {rss:.0f} MB RSS (target < 200 MB)")

    # Hand back the echo tasks so the Workers can ask for render tasks.
    for client in clients:
        async with session.post(
            f"{base_url}/api/v3/worker/task/{client.task_id}",
            json={"taskStatus": "completed"},
            headers={"Authorization": client.auth},
        ) as response:
            assert response.status == 204
    print(f"scheduleTask with 100,000+ queued tasks, {SCHEDULE_CALLS} Workers ...", flush=True)
    half = SCHEDULE_CALLS // 2
    one_at_a_time = [(await schedule(session, base_url, auth))[0] for auth in auths[:half]]
    print(
        f"  one request at a time: p50 {statistics.median(one_at_a_time) * 1000:.1f} ms,"
        f" p99 {percentile(one_at_a_time, 0.99) * 1000:.1f} ms (target p99 < 20 ms)"
    )
    started = time.perf_counter()
    crowded = [
        duration
        for duration, _ in await in_batches(
            [schedule(session, base_url, auth) for auth in auths[half:SCHEDULE_CALLS]], 10
        )
    ]
    rate = (SCHEDULE_CALLS - half) / (time.perf_counter() - started)
    median = statistics.median(crowded) * 1000
    p99 = percentile(crowded, 0.99) * 1000
    print(f"  ten at a time: {rate:,.0f} tasks handed out/s, p50 {median:.1f} ms, p99 {p99:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=LOAD_SECONDS, help="length of each load run"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="record a py-spy flame graph of the Manager"
    )
    parser.add_argument(
        "--only",
        choices=["limits"],
        help="run only this part (limits: resource limits and explainer)",
    )
    parser.add_argument(
        "--database", metavar="URL", help="PostgreSQL URL for the limits part (default: SQLite)"
    )
    args = parser.parse_args()
    if args.profile:
        PROFILE_OUTPUT.append(args.profile)
    if args.only != "limits":
        asyncio.run(run(args.seconds))
    asyncio.run(run_limits(args.database))


if __name__ == "__main__":
    main()
