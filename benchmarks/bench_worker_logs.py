"""Benchmark of Worker log streaming: a command printing 10,000 lines a second for 30 seconds.

Run with `python benchmarks/bench_worker_logs.py` (about 45 seconds; `--seconds`
and `--rate` change the load, `--batched` makes the Worker use taskUpdate
instead of the log stream). It starts a real Manager and a real Worker, each in
its own process, and a job whose only command prints numbered, timestamped
lines at a steady rate. While the command runs it follows the task's log tail
on the Manager, and afterwards it prints:

- lag: how old the newest line in the Manager's log tail is, sampled every
  100 ms (target: under 1 s);
- Worker CPU: the Worker process's own CPU time while the command ran, as a
  share of one core (target: under 10 %); the printing command's CPU is not
  counted;
- completeness: whether every line arrived, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import aiohttp

from loadgen import free_port, manager_yaml, wait_until_up

JOB_TYPE = """
const JOB_TYPE = {
  label: "Log Benchmark",
  settings: [{ key: "exe", type: "string" }, { key: "args", type: "string" }],
};

function compileJob(job) {
  const task = author.Task("print", "misc");
  const args = JSON.parse(job.settings.args);
  task.addCommand(author.Command("exec", { exe: job.settings.exe, args: args }));
  job.addTask(task);
}
"""

# Prints `rate` lines a second in batches every 10 ms; each line carries its
# number and the time it was printed, padded to about 100 characters.
PRINTER = textwrap.dedent(
    """
    import sys, time
    rate, seconds = int(sys.argv[1]), float(sys.argv[2])
    per_tick, tick = rate // 100, 0.01
    padding = "x" * 60
    start = time.time()
    number = 0
    while True:
        due = start + (number // per_tick) * tick
        now = time.time()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        now = time.time()
        sys.stdout.write("".join(
            f"line {number + i:08d} at {now:.6f} {padding}\\n" for i in range(per_tick)
        ))
        sys.stdout.flush()
        number += per_tick
    print(f"done {number} lines", flush=True)
    """
)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process itself, not of its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def run(rate: int, seconds: float, batched: bool) -> int:
    directory = Path(tempfile.mkdtemp(prefix="flamenco-bench-logs-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    (directory / "shared").mkdir()
    (directory / "scripts").mkdir()
    (directory / "scripts" / "log_benchmark.js").write_text(JOB_TYPE, encoding="utf-8")
    (directory / "flamenco-manager.yaml").write_text(
        manager_yaml(port, directory / "shared", name="Log Benchmark"), encoding="utf-8"
    )
    worker_dir = directory / "worker"
    worker_dir.mkdir()
    (worker_dir / "flamenco-worker.yaml").write_text(
        f"worker_name: bench\nmanager_url: {base_url}\n", encoding="utf-8"
    )
    printer = directory / "printer.py"
    printer.write_text(PRINTER, encoding="utf-8")

    manager = subprocess.Popen(
        [sys.executable, "-m", "flamenco.manager", "--quiet"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "manager.log").open("wb"),
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_up(base_url + "/api/v3/version")
            job = {
                "name": "log benchmark",
                "type": "log-benchmark",
                "priority": 50,
                "submitter_platform": "linux",
                "settings": {
                    "exe": sys.executable,
                    "args": json.dumps([str(printer), str(rate), str(seconds)]),
                },
                "metadata": {},
            }
            async with session.post(base_url + "/api/v3/jobs", json=job) as response:
                assert response.status == 200, await response.text()
                job_id = (await response.json())["id"]
            env = {**os.environ, "FLAMENCO_HOME": str(worker_dir / "home")}
            if batched:
                env["FLAMENCO_BENCH_BATCHED"] = "1"
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER_LAUNCHER, "--quiet"],
                cwd=worker_dir,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(directory / "worker.log").open("wb"),
            )
            return await measure(session, base_url, job_id, worker.pid, rate, seconds, batched)
    finally:
        for process in (worker, manager):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        print(f"(files in {directory})")


# Runs the Worker CLI; for --batched it hides the log stream, as an upstream Manager would.
WORKER_LAUNCHER = textwrap.dedent(
    """
    import os, sys
    from flamenco.worker import __main__ as cli
    from flamenco.worker.client import ManagerClient
    if os.environ.get("FLAMENCO_BENCH_BATCHED"):
        async def no_stream(self):
            return False
        ManagerClient.offers_log_stream = no_stream
    sys.exit(cli.main(sys.argv[1:]))
    """
)


async def task_of(session: aiohttp.ClientSession, base_url: str, job_id: str) -> dict[str, Any]:
    async with session.get(f"{base_url}/api/v3/jobs/{job_id}/tasks") as response:
        task: dict[str, Any] = (await response.json())["tasks"][0]
        return task


async def measure(
    session: aiohttp.ClientSession,
    base_url: str,
    job_id: str,
    worker_pid: int,
    rate: int,
    seconds: float,
    batched: bool,
) -> int:
    task_id = (await task_of(session, base_url, job_id))["id"]
    tail_url = f"{base_url}/api/v3/tasks/{task_id}/logtail"
    lags: list[float] = []
    cpu_start = wall_start = 0.0
    while True:
        async with session.get(tail_url) as response:
            tail = await response.text() if response.status == 200 else ""
        newest = [line for line in tail.splitlines() if " > line " in line]
        if newest:
            if not wall_start:
                cpu_start, wall_start = cpu_seconds(worker_pid), time.monotonic()
            printed_at = float(newest[-1].split(" at ")[1].split()[0])
            lags.append(time.time() - printed_at)
        if "done " in tail and " lines" in tail:
            break
        if wall_start and time.monotonic() - wall_start > seconds + 30:
            raise TimeoutError("the command's last line never arrived")
        await asyncio.sleep(0.1)
    cpu_used = cpu_seconds(worker_pid) - cpu_start
    wall = time.monotonic() - wall_start

    for _ in range(300):
        async with session.get(f"{base_url}/api/v3/jobs/{job_id}") as response:
            if (await response.json())["status"] == "completed":
                break
        await asyncio.sleep(0.1)
    async with session.get(f"{base_url}/api/v3/tasks/{task_id}/log") as response:
        log_url = (await response.json())["url"]
    async with session.get(base_url + log_url) as response:
        full_log = await response.text()
    numbers = [
        int(line.split(" > line ")[1].split()[0])
        for line in full_log.splitlines()
        if " > line " in line
    ]
    expected = int(full_log.split("done ")[1].split()[0])
    complete = numbers == list(range(expected))

    lags.sort()
    share = cpu_used / wall
    mode = "taskUpdate batches" if batched else "log stream"
    print(f"Worker log streaming ({mode}): {rate} lines/s for {seconds:g} s, {expected} lines")
    print(
        f"  lag of the newest line in the log tail: median {statistics.median(lags):.3f} s, "
        f"p95 {lags[int(len(lags) * 0.95)]:.3f} s, max {lags[-1]:.3f} s  (target < 1 s)"
    )
    print(
        f"  Worker CPU: {cpu_used:.2f} s in {wall:.1f} s = {share * 100:.1f} % of one core "
        f"(target < 10 %)"
    )
    print(f"  every line arrived, in order: {'yes' if complete else 'NO'}")
    return 0 if complete and lags[-1] < 1.0 and share < 0.10 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=10_000, help="lines per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the command prints")
    parser.add_argument("--batched", action="store_true", help="use taskUpdate, not the stream")
    args = parser.parse_args()
    return asyncio.run(run(args.rate, args.seconds, args.batched))


if __name__ == "__main__":
    sys.exit(main())
