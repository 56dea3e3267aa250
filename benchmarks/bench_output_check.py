"""Benchmark of checking a 10,000-frame job's output, and of the Manager's responsiveness meanwhile.

Run with `python benchmarks/bench_output_check.py` (about a minute). It starts a
real Manager in its own process, submits a Simple Blender Render job of 10,000
frames (one task each) and writes 10,000 real PNG files (64 x 36 pixels) where
its tasks put them. Then it times:

- the first `GET /api/v3/jobs/{id}/frames`: every file opened and verified;
- the same again: unchanged files are only stat()ed;
- `POST /api/v3/jobs/{id}/rerender-missing` after 100 frames were deleted and
  100 cut short (the tasks are marked completed first, one Worker report each);

while a Worker in another process keeps asking for tasks (scheduleTask). As a
baseline from the same run, it times a bare loop of os.stat() over the files in
this process, and scheduleTask's latency before the checks.

Targets: a check of the 10,000 frames in < 2 s; scheduleTask p99 < 50 ms meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from loadgen import SchedulingProbe, manager_process, register, render_job, report_latencies

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from flamenco.frame_checks import expected

FRAMES = 10_000
BROKEN = 100


def small_png(frame: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (frame % 256, (frame // 256) % 256, 90)).save(buffer, "PNG")
    return buffer.getvalue()


async def timed(session: aiohttp.ClientSession, method: str, url: str) -> tuple[float, Any]:
    started = time.perf_counter()
    async with session.request(method, url) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"{method} {url}: {response.status} {body}")
    return time.perf_counter() - started, body


async def complete_all(session: aiohttp.ClientSession, base_url: str, auth: str) -> None:
    """Have a Worker take and complete tasks until there are none left."""

    async def report(task_id: str, fields: dict[str, Any]) -> None:
        async with session.post(
            f"{base_url}/api/v3/worker/task/{task_id}",
            json=fields,
            headers={"Authorization": auth},
        ) as response:
            await response.read()

    while True:
        async with session.post(
            base_url + "/api/v3/worker/task", headers={"Authorization": auth}
        ) as response:
            if response.status != 200:
                return
            task = await response.json()
        await report(task["uuid"], {"taskStatus": "completed", "activity": "done"})


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flamenco-bench-frames-") as output:
        job_json = render_job("frames", FRAMES)
        job_json["settings"]["render_output_root"] = output
        job_json["settings"]["render_output_path"] = f"{output}/bench/{{timestamp}}/######"
        async with manager_process() as manager, aiohttp.ClientSession() as session:
            base = manager.base_url
            started = time.perf_counter()
            async with session.post(base + "/api/v3/jobs", json=job_json) as response:
                job = await response.json()
            print(f"submitted a {FRAMES:,}-frame job in {time.perf_counter() - started:.1f} s")
            pattern = job["settings"]["render_output_path"]
            paths = [expected.frame_path(pattern, n, "PNG") for n in range(1, FRAMES + 1)]
            Path(paths[0]).parent.mkdir(parents=True)
            for number, path in enumerate(paths, 1):
                Path(path).write_bytes(small_png(number))
            print(f"wrote {FRAMES:,} PNG files of {len(small_png(1))} bytes")

            started = time.perf_counter()
            for path in paths:
                os.stat(path)
            stat_loop = time.perf_counter() - started
            print(f"baseline: os.stat() of every file in this process: {stat_loop * 1000:.0f} ms")

            # The probe's own job, so that it always has a task to be given.
            async with session.post(base + "/api/v3/jobs", json=render_job("probe", 50)) as r:
                await r.read()
            probe_auth = await register(session, base, "probe-worker")
            probe = SchedulingProbe(base, probe_auth)
            try:
                await asyncio.sleep(3)
                report_latencies(probe.latencies_since(time.monotonic() - 2.5), "idle (baseline)")
                frames_url = f"{base}/api/v3/jobs/{job['id']}/frames"
                for label in ("first check (every file read)", "second check (unchanged files)"):
                    since = time.monotonic()
                    took, body = await timed(session, "GET", frames_url)
                    await asyncio.sleep(0.3)
                    counts = body["counts"]
                    print(
                        f"{label}: {len(body['frames']):,} frames in {took:.2f} s "
                        f"({took / stat_loop:.0f}x the stat() loop; target < 2 s); {counts}"
                    )
                    report_latencies(
                        probe.latencies_since(since), "meanwhile", " (target p99 < 50 ms)"
                    )
            finally:
                probe.close()

            auths = [await register(session, base, f"bench-worker-{n}") for n in range(8)]
            started = time.perf_counter()
            await asyncio.gather(*(complete_all(session, base, auth) for auth in auths))
            print(f"completed the job's tasks in {time.perf_counter() - started:.0f} s")
            for path in paths[:BROKEN]:
                os.unlink(path)
            for path in paths[BROKEN : 2 * BROKEN]:
                with open(path, "r+b") as file:
                    file.truncate(60)
            async with session.post(base + "/api/v3/jobs", json=render_job("probe 2", 50)) as r:
                await r.read()
            # A new probe Worker: the first one timed out while the tasks were completed.
            probe = SchedulingProbe(base, await register(session, base, "probe-worker-2"))
            try:
                await asyncio.sleep(1)
                since = time.monotonic()
                took, body = await timed(
                    session, "POST", f"{base}/api/v3/jobs/{job['id']}/rerender-missing"
                )
                await asyncio.sleep(0.3)
                print(
                    f"rerender-missing: checked {body['checked_frames']:,} frames, requeued "
                    f"{len(body['tasks'])} tasks for {len(body['frames'])} frames in {took:.2f} s"
                )
                report_latencies(probe.latencies_since(since), "meanwhile", " (target p99 < 50 ms)")
            finally:
                probe.close()


if __name__ == "__main__":
    asyncio.run(main())
