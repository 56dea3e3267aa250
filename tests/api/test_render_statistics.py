"""Render statistics over the API: task runs, frames from Blender's log, utilisation, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from conftest import ConfigMaker
from flamenco.manager import keys
from flamenco.manager.render_statistics.retention import ABANDONED_AFTER
from support.fakes import FakeClock
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.waiting import until
from support.worker_session import WorkerSession

LOGS = Path(__file__).parents[1] / "unit" / "manager" / "blender_logs"
MIB = 1024 * 1024


def blender_log(name: str) -> str:
    """A real Blender log as a Worker sends it: each line prefixed with Blender's PID."""
    text = (LOGS / name).read_text(encoding="utf-8")
    return "".join(f"pid=4242 > {line}\n" for line in text.splitlines())


async def run_with_clock(make_manager_config: ConfigMaker, clock: FakeClock, **settings: object):  # type: ignore[no-untyped-def]
    """A Manager on the fake clock, whose watchdogs leave the slow test Workers alone."""
    settings = {"task_timeout": "0s", "worker_timeout": "0s", **settings}
    async for running in run_manager(make_manager_config(**settings), clock=clock):
        yield running


async def statistics(running: RunningManager, job_id: str) -> dict[str, Any]:
    reply = await running.client.get(f"/api/v3/statistics/jobs/{job_id}", expect=200)
    body: dict[str, Any] = reply.json()
    return body


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_frames_task_runs_and_estimate(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(make_manager_config, clock):
        client = running.client
        worker = WorkerSession(client, name="render-01")
        await worker.start()
        job = await submit_echo_sleep(client, repeats=2)

        clock.advance(12)  # queued for 12 s
        first = await worker.next_task()
        await worker.update(first["uuid"], taskStatus="active")
        # The log arrives in two chunks that split a frame's lines.
        log = blender_log("cycles-3.4.1.txt")
        middle = log.index("Saved:")
        await worker.update(first["uuid"], log=log[:middle])
        clock.advance(30)
        await worker.update(first["uuid"], log=log[middle:])
        await worker.update(first["uuid"], taskStatus="completed")

        second = await worker.next_task()
        clock.advance(10)
        await worker.update(second["uuid"], log=blender_log("workbench-3.4.1.txt"))

        found = await statistics(running, job["id"])
        assert found["recording"] is True
        assert [(f["frame"], f["render_seconds"]) for f in found["frames"]] == [
            (1, 0.2),
            (1, 1.3),
            (2, 0.0),
            (2, 0.0),
        ]
        cycles = [f for f in found["frames"] if f["task_id"] == first["uuid"]]
        assert {f["peak_memory_bytes"] for f in cycles} == {int(10.20 * MIB)}
        assert {f["worker_name"] for f in found["frames"]} == {"render-01"}
        assert found["slowest_frames"][0]["render_seconds"] == 1.3
        totals = found["totals"]
        assert totals["frames_rendered"] == 4
        assert totals["render_seconds_total"] == pytest.approx(1.5)
        assert totals["render_seconds_max"] == 1.3
        assert totals["peak_memory_bytes_max"] == int(10.20 * MIB)
        assert totals["task_runs"] == 2
        assert totals["running_seconds_total"] == pytest.approx(40)
        # One job of three tasks, one done in 30 s, one 10 s into its run, one waiting:
        # 30 - 10 + 30 s of work left on one Worker.
        assert found["estimate"]["remaining_seconds"] == pytest.approx(50)

        runs = (
            await client.get(f"/api/v3/statistics/jobs/{job['id']}/task-runs", expect=200)
        ).json()["runs"]
        assert [(r["task_id"], r["status"], r["worker_name"]) for r in runs] == [
            (first["uuid"], "completed", "render-01"),
            (second["uuid"], None, "render-01"),
        ]
        assert runs[0]["queued_seconds"] == 12
        assert runs[0]["running_seconds"] == 30
        assert runs[1]["queued_seconds"] == 42  # queued since the job was submitted
        assert runs[1]["finished_at"] is None and runs[1]["running_seconds"] == 10


async def test_csv(make_manager_config: ConfigMaker, clock: FakeClock) -> None:
    async for running in run_with_clock(make_manager_config, clock):
        client = running.client
        worker = WorkerSession(client, name="render-01")
        await worker.start()
        job = await submit_echo_sleep(client, repeats=1)
        task = await worker.next_task()
        await worker.update(task["uuid"], log=blender_log("eevee-3.4.1.txt"))
        clock.advance(60)
        await worker.update(task["uuid"], taskStatus="completed")

        reply = await client.get(f"/api/v3/statistics/jobs/{job['id']}?format=csv", expect=200)
        assert reply.headers["Content-Type"].startswith("text/csv")
        frames = read_csv(reply.text)
        assert [(row["frame"], row["render_seconds"], row["saving_seconds"]) for row in frames] == [
            ("1", "4.97", "0.15"),
            ("2", "1.18", "0.0"),
        ]
        assert frames[0]["peak_memory_bytes"] == str(int(11.32 * MIB))

        path = f"/api/v3/statistics/jobs/{job['id']}/task-runs?format=csv"
        runs = read_csv((await client.get(path, expect=200)).text)
        assert [(row["task_id"], row["running_seconds"], row["status"]) for row in runs] == [
            (task["uuid"], "60.0", "completed")
        ]

        end = clock.now()
        since = end - dt.timedelta(minutes=2)
        query = f"since={since.isoformat()}&until={end.isoformat()}&bucket_seconds=60"
        query = query.replace("+", "%2B")
        farm = read_csv(
            (await client.get(f"/api/v3/statistics/farm/utilisation?{query}&format=csv")).text
        )
        assert [(row["worker_name"], row["busy_seconds"]) for row in farm] == [
            ("render-01", "0.0"),
            ("render-01", "60.0"),
        ]


async def test_utilisation_of_workers_and_farm(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(make_manager_config, clock):
        client = running.client
        start = clock.now()
        one = WorkerSession(client, name="one")
        two = WorkerSession(client, name="two")
        await one.start()
        await two.start()
        await submit_echo_sleep(client, repeats=3)
        # "one" runs the echo task for 90 s; then each runs a sleep task for 60 s.
        echo = await one.next_task()
        clock.advance(90)
        await one.update(echo["uuid"], taskStatus="completed")
        sleep_one = await one.next_task()
        sleep_two = await two.next_task()
        clock.advance(60)
        await one.update(sleep_one["uuid"], taskStatus="completed")
        await two.update(sleep_two["uuid"], taskStatus="completed")
        clock.advance(30)

        end = start + dt.timedelta(minutes=3)
        query = (f"since={start.isoformat()}&until={end.isoformat()}&bucket_seconds=60").replace(
            "+", "%2B"
        )
        farm = (await client.get(f"/api/v3/statistics/farm/utilisation?{query}", expect=200)).json()
        assert len(farm["bucket_starts"]) == 3
        by_name = {worker["worker_name"]: worker for worker in farm["workers"]}
        assert by_name["one"]["busy_seconds"] == [60, 60, 30]
        assert by_name["two"]["busy_seconds"] == [0, 30, 30]
        assert by_name["one"]["busy_fraction"] == pytest.approx(150 / 180)
        assert farm["busy_workers"] == pytest.approx([1, 1.5, 1])

        worker_path = f"/api/v3/statistics/workers/{two.uuid}/utilisation?{query}"
        alone = (await client.get(worker_path, expect=200)).json()
        assert [w["worker_name"] for w in alone["workers"]] == ["two"]
        assert alone["busy_workers"] == pytest.approx([0, 0.5, 0.5])

        # The default period is the last 24 hours, in 96 buckets.
        default = (await client.get("/api/v3/statistics/farm/utilisation", expect=200)).json()
        assert len(default["bucket_starts"]) == 96
        assert default["until"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M:%S"))


async def test_bad_requests(manager: RunningManager) -> None:
    client = manager.client
    unknown = "00000000-0000-4000-8000-000000000000"
    reply = await client.get(f"/api/v3/statistics/jobs/{unknown}", expect=404)
    assert unknown in reply.json()["message"]
    await client.get(f"/api/v3/statistics/jobs/{unknown}/task-runs", expect=404)
    await client.get("/api/v3/statistics/jobs/not-a-uuid", expect=400)
    await client.get(f"/api/v3/statistics/jobs/{unknown}?format=xml", expect=400)
    farm = "/api/v3/statistics/farm/utilisation"
    reply = await client.get(
        f"{farm}?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", expect=400
    )
    assert "before" in reply.json()["message"]
    reply = await client.get(f"{farm}?bucket_seconds=1", expect=400)
    assert "bucket" in reply.json()["message"]
    await client.get(f"{farm}?bucket_seconds=0", expect=400)
    await client.get(f"{farm}?since=yesterday", expect=400)
    await client.get(f"{farm}?until=0001-01-01T00:00:00Z", expect=400)
    reply = await client.get(f"{farm}?since=1900-01-01T00:00:00Z", expect=400)
    assert "between 1970 and 9000" in reply.json()["message"]
    # A bucket longer than the period is the whole period.
    whole = await client.get(f"{farm}?bucket_seconds={'9' * 400}", expect=200)
    assert len(whole.json()["bucket_starts"]) == 1
    # A Worker without statistics was simply idle.
    idle = await client.get(f"/api/v3/statistics/workers/{unknown}/utilisation", expect=200)
    assert idle.json()["workers"][0]["busy_seconds"] == [0.0] * 96


async def test_recording_off(make_manager_config: ConfigMaker, clock: FakeClock) -> None:
    async for running in run_with_clock(make_manager_config, clock, render_statistics=False):
        assert keys.FRAME_RECORDER not in running.app
        worker = WorkerSession(running.client)
        await worker.start()
        job = await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()
        await worker.update(task["uuid"], log=blender_log("cycles-3.4.1.txt"))
        await worker.update(task["uuid"], taskStatus="completed")
        found = await statistics(running, job["id"])
        assert found["recording"] is False
        assert found["frames"] == []
        assert found["totals"]["task_runs"] == 0


async def test_retention_prunes_old_statistics(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(
        make_manager_config,
        clock,
        render_statistics_retention="48h0m0s",
    ):
        client = running.client
        worker = WorkerSession(client)
        await worker.start()
        old_job = await submit_echo_sleep(client, repeats=1, name="old")
        task = await worker.next_task()
        await worker.update(task["uuid"], log=blender_log("eevee-3.4.1.txt"))
        await worker.update(task["uuid"], taskStatus="completed")
        assert (await statistics(running, old_job["id"]))["totals"]["frames_rendered"] == 2

        clock.advance(dt.timedelta(hours=47))
        new_job = await submit_echo_sleep(client, repeats=1, name="new")
        for _ in range(3):  # the old job's sleep task, then the new job's tasks
            task = await worker.next_task()
            await worker.update(task["uuid"], log=blender_log("eevee-3.4.1.txt"))
            await worker.update(task["uuid"], taskStatus="completed")
        retention = running.app[keys.RENDER_STATISTICS_RETENTION]
        assert await retention.tidy() == 0

        # The farm's hourly duty prunes what is over 48 hours old: the old job's
        # first task and its frames.
        clock.advance(dt.timedelta(hours=2))

        async def old_job_pruned(
            running: RunningManager = running, job_id: str = old_job["id"]
        ) -> bool:
            totals = (await statistics(running, job_id))["totals"]
            return bool(totals["task_runs"] == 1)

        await until(old_job_pruned, timeout=10)
        old = await statistics(running, old_job["id"])
        assert old["totals"]["frames_rendered"] == 2  # its second task's
        assert (await statistics(running, new_job["id"]))["totals"]["frames_rendered"] == 4
        assert await retention.tidy() == 0


async def test_runs_ended_by_cancelling_the_job_are_closed(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(make_manager_config, clock):
        client = running.client
        worker = WorkerSession(client)
        await worker.start()
        job = await submit_echo_sleep(client, repeats=1)
        await worker.next_task()
        clock.advance(20)
        await client.post(
            f"/api/v3/jobs/{job['id']}/setstatus",
            json_body={"status": "cancel-requested", "reason": "test"},
            expect=204,
        )
        path = f"/api/v3/statistics/jobs/{job['id']}/task-runs"
        [run] = (await client.get(path, expect=200)).json()["runs"]
        assert run["finished_at"] is None

        clock.advance(ABANDONED_AFTER)
        await running.app[keys.RENDER_STATISTICS_RETENTION].tidy()
        [run] = (await client.get(path, expect=200)).json()["runs"]
        assert run["status"] == "canceled"
        assert run["running_seconds"] == 20
