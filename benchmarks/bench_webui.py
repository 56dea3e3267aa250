"""Benchmark of the web interface at scale, in Debian's headless Chromium against a real Manager.

Run with `python benchmarks/bench_webui.py` (about two minutes, most of it filling
the database over the API). It stores 10,000 jobs and one more job of 10,000 tasks,
then prints:

- jobs page interactive: from navigation until a click on a job row has selected it
  (target: under 2 s), median of several page loads;
- the 10,000-task job: from clicking it until its task table shows rows;
- a burst of live updates: 500 jobs submitted while the page is open; how long until
  all are in the table, and the longest main-thread block ("long task") meanwhile;
- how long a Worker asking for tasks waits, in a process of its own, with no page
  open and while the jobs page loads its 10,000 jobs again and again.

Needs `pip install playwright`, Debian's `chromium`, and `npm ci` in static/.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import async_playwright

from loadgen import (
    SchedulingProbe,
    free_port,
    manager_yaml,
    register,
    report_latencies,
    wait_until_up,
)

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_INTERACTIVE_SECONDS = 2.0
PAGE_LOADS = 5

# Counts long tasks (main-thread blocks over 50 ms) from the start of the page.
LONG_TASK_OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: 'longtask', buffered: true });
"""


def echo_job(name: str, repeats: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": name, "sleep_duration_seconds": 1, "sleep_repeats": repeats},
        "metadata": {},
    }


async def submit_jobs(url: str, names: list[str], concurrency: int = 16) -> None:
    async with aiohttp.ClientSession() as session:
        pending = iter(names)

        async def submitter() -> None:
            for name in pending:
                async with session.post(url + "/api/v3/jobs", json=echo_job(name)) as response:
                    if response.status != 200:
                        raise RuntimeError(await response.text())

        await asyncio.gather(*(submitter() for _ in range(concurrency)))


async def submit_big_job(url: str, tasks: int) -> str:
    async with aiohttp.ClientSession() as session:
        body = echo_job("job with many tasks", repeats=tasks - 1)
        async with session.post(url + "/api/v3/jobs", json=body) as response:
            job: dict[str, Any] = await response.json()
            return str(job["id"])


async def measure_interactive(context: Any, url: str) -> tuple[float, float]:
    page = await context.new_page()
    await page.add_init_script(LONG_TASK_OBSERVER)
    started = time.perf_counter()
    await page.goto(url + "/app/jobs")
    row = page.get_by_test_id("jobs-table").get_by_role("row").nth(3)
    await row.click()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=jobs-table] [aria-selected=true]') !== null"
    )
    elapsed = time.perf_counter() - started
    longest = float(await page.evaluate("() => Math.max(0, ...window.__longTasks)"))
    await page.close()
    return elapsed, longest


async def measure_big_job(context: Any, url: str, tasks: int) -> float:
    page = await context.new_page()
    await page.goto(url + "/app/jobs")
    row = page.get_by_test_id("jobs-table").get_by_role("row").filter(has_text="many tasks")
    await page.get_by_role("searchbox").fill("many tasks")
    started = time.perf_counter()
    await row.click()
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=tasks-table] [role=row]').length > 10",
        timeout=60_000,
    )
    elapsed = time.perf_counter() - started
    # Scroll to the end of the 10,000 tasks; rows must keep up.
    await page.get_by_test_id("tasks-table").get_by_role("grid").focus()
    await page.keyboard.press("End")
    await page.wait_for_function(
        "(last) => [...document.querySelectorAll('[data-testid=tasks-table] [role=row]')]"
        ".some((row) => row.getAttribute('aria-rowindex') === last)",
        arg=str(tasks + 1),
    )
    await page.close()
    return elapsed


async def measure_burst(context: Any, url: str, count: int, existing: int) -> tuple[float, float]:
    page = await context.new_page()
    await page.add_init_script(LONG_TASK_OBSERVER)
    await page.goto(url + "/app/jobs")
    await page.get_by_test_id("jobs-table").get_by_role("row").nth(3).wait_for()
    await page.evaluate("() => { window.__longTasks = []; }")
    started = time.perf_counter()
    await submit_jobs(url, [f"burst {index}" for index in range(count)])
    await page.wait_for_function(
        "(total) => document.querySelector('.table-summary').textContent.includes(total)",
        arg=f"{existing + count} jobs",
        timeout=120_000,
    )
    elapsed = time.perf_counter() - started
    longest = float(await page.evaluate("() => Math.max(0, ...window.__longTasks)"))
    await page.close()
    return elapsed, longest


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=500)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-webui-") as scratch:
        directory = Path(scratch)
        (directory / "shared").mkdir()
        port = free_port()
        (directory / "flamenco-manager.yaml").write_text(
            manager_yaml(port, directory / "shared"), encoding="utf-8"
        )
        url = f"http://127.0.0.1:{port}"
        probe: SchedulingProbe | None = None
        log = (directory / "manager.log").open("wb")
        manager = subprocess.Popen(
            [sys.executable, "-m", "flamenco.manager"],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            await wait_until_up(url + "/api/v3/version")
            started = time.perf_counter()
            await submit_jobs(url, [f"job {index:05d}" for index in range(options.jobs)])
            await submit_big_job(url, options.tasks)
            print(
                f"stored {options.jobs:,} jobs and one of {options.tasks:,} tasks "
                f"in {time.perf_counter() - started:.0f} s"
            )
            async with aiohttp.ClientSession() as session:
                fetch_started = time.perf_counter()
                async with session.get(url + "/api/v3/jobs") as response:
                    size = len(await response.read())
                fetch = time.perf_counter() - fetch_started
            print(f"GET /api/v3/jobs: {size / 1e6:.1f} MB in {fetch * 1000:.0f} ms")
            async with aiohttp.ClientSession() as session:
                probe = SchedulingProbe(url, await register(session, url, "probe"))
            await asyncio.sleep(2)
            quiet = time.monotonic()
            await asyncio.sleep(3)
            report_latencies(probe.latencies_since(quiet), "with no page open")

            async with async_playwright() as playwright:
                context = await playwright.chromium.launch_persistent_context(
                    str(directory / "chromium-profile"),
                    executable_path=CHROMIUM,
                    headless=True,
                    args=CHROMIUM_ARGS,
                    viewport={"width": 1600, "height": 900},
                )
                loading = time.monotonic()
                results = [await measure_interactive(context, url) for _ in range(PAGE_LOADS)]
                report_latencies(probe.latencies_since(loading), "while the jobs page loaded")
                loads = [elapsed for elapsed, _ in results]
                median = statistics.median(loads)
                verdict = "ok" if median < TARGET_INTERACTIVE_SECONDS else "TOO SLOW"
                print(
                    f"jobs page interactive with {options.jobs + 1:,} jobs: median {median:.2f} s "
                    f"(first {loads[0]:.2f} s, max {max(loads):.2f} s; "
                    f"target < {TARGET_INTERACTIVE_SECONDS:.0f} s) {verdict}; longest "
                    f"main-thread block while loading {max(block for _, block in results):.0f} ms"
                )
                big = await measure_big_job(context, url, options.tasks)
                print(f"job of {options.tasks:,} tasks: task table {big:.2f} s after the click")
                burst, longest = await measure_burst(context, url, options.burst, options.jobs + 1)
                print(
                    f"burst of {options.burst} new jobs while watching: all shown after "
                    f"{burst:.1f} s (submission included); longest main-thread block "
                    f"{longest:.0f} ms"
                )
                await context.close()
        finally:
            if probe is not None:
                probe.close()
            manager.terminate()
            try:
                manager.wait(timeout=30)
            except subprocess.TimeoutExpired:
                manager.kill()
                manager.wait()
            log.close()


if __name__ == "__main__":
    asyncio.run(main())
