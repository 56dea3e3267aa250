"""Benchmark of recording render statistics: taskUpdate throughput with statistics on and off.

Run with `python benchmarks/bench_render_statistics.py` (about two minutes;
`--seconds` sets each round's length, `--rounds` the number of rounds). It starts
two real Managers in their own processes, one with `render_statistics: true`
and one with `render_statistics: false`, gives 200 simulated Workers a render
task on each, and then sends taskUpdates as fast as 100 connections go,
alternating between the two Managers round by round so that both meet the same
machine. Every update carries a line of Blender's render progress
(`Fra:... Mem:... (Peak ...)`), and every tenth also ends a frame (`Saved:` and
`Time:`), far more frames than a real farm renders, so that the figure is an
upper bound of the cost. It prints each round's throughput and the ratio of
"on" to "off" (target: at least 0.95, a drop under 5 %), and how many frames
the "on" Manager stored.

On a machine that other work shares, throughput swings from round to round
by more than the cost measured; so it also prints the Manager's own CPU time
per update (user and system, from /proc), which such noise barely moves, and
the throughput that CPU time allows, on / off; and, measured in this process,
what reading the log costs per update (the part of recording that every
update pays; frames are written in batches every 2 seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from loadgen import in_batches, manager_process, register, render_job, schedule

WORKERS = 200
CONCURRENCY = 100
ROUND_SECONDS = 10.0
ROUNDS = 4
FRAME_EVERY = 10


@dataclass
class Simulated:
    auth: str
    task_id: str


def progress_log(index: int) -> str:
    frame = index // FRAME_EVERY + 1
    text = (
        f"pid=4242 > Fra:{frame} Mem:812.34M (Peak 1024.56M) | Time:00:{index % 60:02d}.12 | "
        f"Remaining:00:12.34 | Mem:210.00M, Peak:250.00M | Scene, ViewLayer | Sample {index}/128\n"
    )
    if index % FRAME_EVERY == FRAME_EVERY - 1:
        text += (
            f"pid=4242 > Saved: '/render/out/benchmark/{frame:06d}.png'\n"
            "pid=4242 >  Time: 00:12.34 (Saving: 00:00.05)\n"
        )
    return text


async def prepare(session: aiohttp.ClientSession, base_url: str) -> list[Simulated]:
    auths = await in_batches(
        [register(session, base_url, f"bench-{n:04d}") for n in range(WORKERS)], 50
    )
    async with session.post(base_url + "/api/v3/jobs", json=render_job("stats", WORKERS)) as reply:
        assert reply.status == 200, await reply.text()
    assigned = await in_batches([schedule(session, base_url, auth) for auth in auths], 50)
    clients = [
        Simulated(auth, body["uuid"]) for auth, (_, body) in zip(auths, assigned, strict=True)
    ]
    for client in clients:  # as a Worker starting its task does
        async with session.post(
            f"{base_url}/api/v3/worker/task/{client.task_id}",
            json={"taskStatus": "active", "activity": "rendering"},
            headers={"Authorization": client.auth},
        ) as reply:
            assert reply.status == 204, await reply.text()
    return clients


async def hammer(
    session: aiohttp.ClientSession, base_url: str, clients: list[Simulated], seconds: float
) -> float:
    """taskUpdates per second, each Worker sending its own task's log in order."""
    deadline = time.perf_counter() + seconds
    count = 0
    sent = [0] * len(clients)

    async def one_connection(offset: int) -> None:
        nonlocal count
        index = offset
        while time.perf_counter() < deadline:
            number = index % len(clients)
            client = clients[number]
            index += CONCURRENCY
            body = json.dumps({"log": progress_log(sent[number])})
            sent[number] += 1
            async with session.post(
                f"{base_url}/api/v3/worker/task/{client.task_id}",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": client.auth},
            ) as reply:
                await reply.read()
                if reply.status != 204:
                    raise RuntimeError(f"task update answered {reply.status}")
            count += 1

    await asyncio.gather(*(one_connection(offset) for offset in range(CONCURRENCY)))
    return count / seconds


def parse_microseconds(updates: int = 20_000) -> float:
    """CPU time of FrameRecorder.observe_log per update, on this benchmark's log text."""
    from flamenco.clock import SystemClock
    from flamenco.manager.render_statistics.recorder import FrameRecorder

    recorder = FrameRecorder(None, SystemClock())  # type: ignore[arg-type]
    texts = [progress_log(index) for index in range(1000)]
    started = time.process_time()
    for number in range(updates):
        recorder.observe_log(
            "job", f"task-{number % WORKERS}", "worker", texts[number % 1000], task_ended=False
        )
    return (time.process_time() - started) / updates * 1e6


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stored_frames(session: aiohttp.ClientSession, base_url: str, job_id: str) -> int:
    async with session.get(f"{base_url}/api/v3/statistics/jobs/{job_id}") as reply:
        body = await reply.json()
    return int(body["totals"]["frames_rendered"])


async def run(seconds: float, rounds: int) -> None:
    async with (
        manager_process(settings={"render_statistics": "true"}) as on,
        manager_process(settings={"render_statistics": "false"}) as off,
    ):
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            print(f"giving {WORKERS} Workers a render task on each Manager ...", flush=True)
            clients = {"on": await prepare(session, on.base_url)}
            clients["off"] = await prepare(session, off.base_url)
            urls = {"on": on.base_url, "off": off.base_url}
            pids = {"on": on.pid, "off": off.pid}
            rates: dict[str, list[float]] = {"on": [], "off": []}
            cpu: dict[str, float] = {"on": 0.0, "off": 0.0}
            updates: dict[str, float] = {"on": 0.0, "off": 0.0}
            for number in range(rounds):
                order = ("off", "on") if number % 2 == 0 else ("on", "off")
                for which in order:
                    before = cpu_seconds(pids[which])
                    rate = await hammer(session, urls[which], clients[which], seconds)
                    used = cpu_seconds(pids[which]) - before
                    cpu[which] += used
                    updates[which] += rate * seconds
                    rates[which].append(rate)
                    print(
                        f"  round {number + 1}, statistics {which:>3}: {rate:,.0f} updates/s, "
                        f"Manager CPU {used / (rate * seconds) * 1e6:,.0f} us/update"
                    )
            async with session.get(on.base_url + "/api/v3/jobs") as reply:
                job_id = (await reply.json())["jobs"][0]["id"]
            frames = await stored_frames(session, on.base_url, job_id)
    ratios = [
        on_rate / off_rate for on_rate, off_rate in zip(rates["on"], rates["off"], strict=True)
    ]
    total = sum(rates["on"]) / sum(rates["off"])
    print(
        f"taskUpdate throughput, statistics on / off: {total:.3f} "
        f"(per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.3f}; target >= 0.95)"
    )
    per_update = {which: cpu[which] / updates[which] for which in cpu}
    print(
        f"Manager CPU per taskUpdate: on {per_update['on'] * 1e6:,.0f} us, "
        f"off {per_update['off'] * 1e6:,.0f} us; throughput that allows, on / off: "
        f"{per_update['off'] / per_update['on']:.3f} (target >= 0.95)"
    )
    print(f"frames stored by the Manager with statistics on: {frames:,}")
    parse = parse_microseconds()
    print(
        f"reading the log: {parse:.1f} us per update, "
        f"{parse / (per_update['off'] * 1e6) * 100:.1f} % of an update's CPU with statistics off"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=ROUND_SECONDS, help="length of a round")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds on each Manager")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
