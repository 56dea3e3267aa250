"""Benchmark of what the Manager's self-measurement costs: taskUpdate throughput, on and off.

Run with `python benchmarks/bench_metrics_overhead.py` (about two minutes). Each
variant below is a Manager configuration; the first, with every kind of farm
insight switched off, is the baseline. One Manager process per variant runs
the whole time, each with 200 Workers that each have a task; they take turns,
round after round, under the same load as bench_manager's saturated taskUpdate
run (a log line per update, 200 connections), so that the machine's other load
touches all of them alike. For every turn it prints the throughput and the
Manager's CPU time per update (user + system, from /proc), then per variant the
median of both, with the throughput's drop against the baseline (target < 5 %).
On a busy machine the CPU time per update is the steadier figure.

While metrics are on, the load also scrapes GET /metrics once a second, as a
Prometheus with a short interval would; that is counted in the cost. At the
end, the Manager with metrics on gets 100 jobs of 1,000 tasks more, and the
benchmark prints what a scrape takes on a farm of 100,000 tasks (the farm's
counts come from per-job counts, so it should not grow with the tasks).

Render statistics are a variant too, alone and with metrics: the issue's target
is for both on. (bench_render_statistics.py measures statistics alone under a
log that ends a frame every tenth update, their worst case.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass

import aiohttp

from bench_cpu_per_request import cpu_seconds
from bench_manager import CONCURRENCY, Simulated, hammer
from loadgen import ManagerUnderTest, in_batches, manager_process, register, render_job, schedule

WORKERS = 200
LOAD_SECONDS = 5.0
ROUNDS = 6
SCRAPE_INTERVAL_SECONDS = 1.0
FARM_JOBS = 100
FARM_TASKS_PER_JOB = 1000
TIMED_SCRAPES = 50

# Every kind of farm insight switched off: the baseline.
INSIGHT_OFF: dict[str, str] = {"metrics_enabled": "false", "render_statistics": "false"}
VARIANTS: dict[str, dict[str, str]] = {
    "insight off": INSIGHT_OFF,
    "metrics on": {**INSIGHT_OFF, "metrics_enabled": "true"},
    "statistics on": {**INSIGHT_OFF, "render_statistics": "true"},
    "both on": {"metrics_enabled": "true", "render_statistics": "true"},
}


@dataclass
class Farm:
    manager: ManagerUnderTest
    clients: list[Simulated]


@dataclass(frozen=True)
class Turn:
    rate: float
    cpu_per_update_us: float
    scrapes: int


async def prepare(session: aiohttp.ClientSession, manager: ManagerUnderTest) -> Farm:
    """Workers registered, each with a task to report on."""
    base_url = manager.base_url
    auths = await in_batches(
        [register(session, base_url, f"bench-{n:04d}") for n in range(WORKERS)], 50
    )
    async with session.post(
        base_url + "/api/v3/jobs", json=render_job("updates", WORKERS)
    ) as response:
        assert response.status == 200, await response.text()
    assigned = await in_batches([schedule(session, base_url, auth) for auth in auths], 50)
    clients = [
        Simulated(auth, body["uuid"]) for auth, (_, body) in zip(auths, assigned, strict=True)
    ]
    return Farm(manager, clients)


async def turn(session: aiohttp.ClientSession, farm: Farm, seconds: float) -> Turn:
    scraping = asyncio.create_task(scrape_meanwhile(farm.manager.base_url))
    cpu_before = cpu_seconds(farm.manager.pid)
    try:
        count, _ = await hammer(session, farm.manager.base_url, farm.clients, seconds)
    finally:
        cpu_used = cpu_seconds(farm.manager.pid) - cpu_before
        scraping.cancel()
        (scrapes,) = await asyncio.gather(scraping, return_exceptions=True)
    return Turn(count / seconds, cpu_used / count * 1e6, scrapes if isinstance(scrapes, int) else 0)


async def scrape_meanwhile(base_url: str) -> int:
    """GET /metrics every second (when metrics are on), like a Prometheus; how many were made."""
    made = 0
    async with aiohttp.ClientSession() as session:
        try:
            while True:
                started = time.perf_counter()
                async with session.get(base_url + "/metrics") as response:
                    await response.read()
                    if response.status == 404:
                        return made  # Metrics are off.
                    assert response.status == 200, response.status
                made += 1
                pause = SCRAPE_INTERVAL_SECONDS - (time.perf_counter() - started)
                await asyncio.sleep(max(0.0, pause))
        except asyncio.CancelledError:
            return made


async def time_scrapes(session: aiohttp.ClientSession, base_url: str) -> float:
    """The median time of GET /metrics, one after the other, in seconds."""
    durations = []
    for _ in range(TIMED_SCRAPES):
        started = time.perf_counter()
        async with session.get(base_url + "/metrics") as response:
            await response.read()
            assert response.status == 200
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def run(seconds: float, rounds: int) -> None:
    turns: dict[str, list[Turn]] = {name: [] for name in VARIANTS}
    async with contextlib.AsyncExitStack() as stack:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        farms: dict[str, Farm] = {}
        for name, settings in VARIANTS.items():
            print(f"starting a Manager with {name} ({settings}) ...", flush=True)
            manager = await stack.enter_async_context(manager_process(settings=settings))
            farms[name] = await prepare(session, manager)
        scrape_before = await time_scrapes(session, farms["metrics on"].manager.base_url)
        for number in range(1, rounds + 1):
            # Every other round in reverse order, so that a machine getting busier or
            # quieter during a round favours no variant.
            order = list(farms.items())
            for name, farm in order if number % 2 else reversed(order):
                result = await turn(session, farm, seconds)
                turns[name].append(result)
                scraped = f", {result.scrapes} scrapes of /metrics" if result.scrapes else ""
                print(
                    f"round {number}, {name}: {result.rate:,.0f} taskUpdates/s, "
                    f"{result.cpu_per_update_us:.0f} us CPU each{scraped}",
                    flush=True,
                )
        print(f"adding {FARM_JOBS} jobs of {FARM_TASKS_PER_JOB} tasks ...", flush=True)
        base_url = farms["metrics on"].manager.base_url
        for number in range(FARM_JOBS):
            job = render_job(f"farm-{number}", FARM_TASKS_PER_JOB - 1)
            async with session.post(base_url + "/api/v3/jobs", json=job) as response:
                assert response.status == 200, await response.text()
        scrape_after = await time_scrapes(session, base_url)
    print(
        f"GET /metrics, median of {TIMED_SCRAPES}: {scrape_before * 1000:.1f} ms with "
        f"{WORKERS} tasks, {scrape_after * 1000:.1f} ms with "
        f"{WORKERS + FARM_JOBS * FARM_TASKS_PER_JOB:,} tasks"
    )
    baseline_name = next(iter(VARIANTS))
    base_rate = statistics.median(t.rate for t in turns[baseline_name])
    base_cpu = statistics.median(t.cpu_per_update_us for t in turns[baseline_name])
    print(
        f"median of {rounds} turns of {seconds:.0f} s, {WORKERS} Workers, "
        f"{CONCURRENCY} connections:"
    )
    for name, results in turns.items():
        rate = statistics.median(t.rate for t in results)
        cpu = statistics.median(t.cpu_per_update_us for t in results)
        line = f"  {name}: {rate:,.0f}/s ({rate / base_rate:.3f} x), {cpu:.0f} us CPU per update"
        line += f" ({cpu / base_cpu:.3f} x)"
        print(line)
        if name == baseline_name:
            continue
        # Each round's two turns ran close together: their ratio shares the machine's mood.
        paired = zip(results, turns[baseline_name], strict=True)
        rate_ratios, cpu_ratios = zip(
            *((t.rate / b.rate, t.cpu_per_update_us / b.cpu_per_update_us) for t, b in paired),
            strict=True,
        )
        rate_ratio = statistics.median(rate_ratios)
        print(
            f"    median of the rounds' ratios: throughput {rate_ratio:.3f} x, "
            f"CPU per update {statistics.median(cpu_ratios):.3f} x; "
            f"throughput drop {(1 - rate_ratio) * 100:.1f} % (target < 5 %)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=LOAD_SECONDS, help="length of each turn")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="turns of each variant")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
