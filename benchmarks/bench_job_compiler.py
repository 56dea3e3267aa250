"""Benchmark of the job compiler: a 10,000-frame Simple Blender Render job, and job type listing.

Run with `python benchmarks/bench_job_compiler.py`. The target is compiling the
10,000-frame job with chunk size 1 (10,001 tasks) in under a second, through
the same async API the Manager uses.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import statistics
import sys
import time
from typing import Any

from flamenco.manager import job_compilers
from loadgen import render_job

FRAMES = 10_000
TARGET_SECONDS = 1.0
RUNS = 5


async def timed(runs: int, action: Any) -> list[float]:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        durations.append(time.perf_counter() - started)
    return durations


async def main() -> int:
    # Compiling logs a line per job; keep the figures readable.
    logging.basicConfig(level=logging.ERROR)
    compilers = job_compilers.JobCompilers(scripts_dir=None)
    submitted = render_job("benchmark", FRAMES)
    listing = await compilers.list_job_types()
    etag = next(t["etag"] for t in listing.job_types if t["name"] == "simple-blender-render")
    submitted["type_etag"] = etag
    created = datetime.datetime.now(datetime.UTC)

    job = await compilers.compile(submitted, created=created)
    if len(job.tasks) != FRAMES + 1:
        print(f"expected {FRAMES + 1} tasks, got {len(job.tasks)}")
        return 1

    async def compile_render_job() -> None:
        await compilers.compile(submitted, created=created)

    async def compile_echo_job() -> None:
        await compilers.compile(
            {"name": "echo", "type": "echo-sleep-test", "priority": 50,
             "submitter_platform": "linux", "type_etag": "",
             "settings": {"message": "hello"}},
            created=created,
        )  # fmt: skip

    async def list_job_types() -> None:
        await compilers.list_job_types()

    render = await timed(RUNS, compile_render_job)
    echo = await timed(20, compile_echo_job)
    listing_times = await timed(20, list_job_types)

    median = statistics.median(render)
    print(f"simple-blender-render, {FRAMES} frames, chunk size 1 ({len(job.tasks)} tasks):")
    print(f"  median {median * 1000:.0f} ms, best {min(render) * 1000:.0f} ms, "
          f"worst {max(render) * 1000:.0f} ms over {RUNS} runs "
          f"(target < {TARGET_SECONDS * 1000:.0f} ms)")  # fmt: skip
    print(f"echo-sleep-test (2 tasks): median {statistics.median(echo) * 1000:.1f} ms")
    print(f"list job types (2 built-in): median {statistics.median(listing_times) * 1000:.1f} ms")
    if median >= TARGET_SECONDS:
        print("FAILED: compiling is slower than the target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
