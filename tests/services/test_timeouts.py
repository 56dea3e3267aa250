"""Watchdogs: timed-out tasks, silent Workers and hung tasks, on a fake clock and a real one."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from conftest import ConfigMaker
from flamenco.manager import keys
from support.fakes import FakeClock
from support.jobs import job_status, submit_echo_sleep, tasks_by_name
from support.manager import RunningManager, run_manager
from support.worker_session import WorkerSession


async def run_with_clock(make_manager_config: ConfigMaker, clock: FakeClock, **settings: object):  # type: ignore[no-untyped-def]
    async for running in run_manager(make_manager_config(**settings), clock=clock):
        yield running


async def test_task_untouched_for_task_timeout_fails(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="10m0s", worker_timeout="0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        job = await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()
        checker = running.app[keys.TIMEOUT_CHECKER]

        clock.advance(dt.timedelta(minutes=9))
        await checker.check()
        assert (await tasks_by_name(running.client, job["id"]))["echo"]["status"] == "active"

        clock.advance(dt.timedelta(minutes=2))
        await checker.check()
        details = (await running.client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
        assert details["status"] == "failed"
        assert details["activity"] == f"Task timed out on worker {worker.name} ({worker.uuid})"
        tail = (await running.client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
        assert f"Task timed out. It was assigned to worker {worker.name} ({worker.uuid})" in tail
        # One of two tasks failed: more than 10 %, so the job failed.
        assert await job_status(running.client, job["id"]) == "failed"


async def test_silent_worker_goes_to_error_and_loses_its_task(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="0s", worker_timeout="1m0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        job = await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()

        await running.client.post(
            f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
            json_body={"status": "asleep", "is_lazy": True},
            expect=204,
        )

        clock.advance(dt.timedelta(seconds=61))
        await running.app[keys.TIMEOUT_CHECKER].check()
        summary = (
            await running.client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
        ).json()
        assert summary["status"] == "error"
        # As upstream: the pending request goes, the Worker is not to change by itself.
        assert "status_change" not in summary
        details = (await running.client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
        assert details["status"] == "queued"
        assert details["activity"] == "Task was requeued by Manager because worker timed out"
        assert await job_status(running.client, job["id"]) == "active"
        # As upstream: a Worker in error gets no work until it is told to wake up.
        await worker.schedule(expect=409)


async def worker_status(running: RunningManager, worker: WorkerSession) -> str:
    reply = await running.client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
    return str(reply.json()["status"])


@pytest.mark.parametrize(
    ("status", "times_out"),
    [
        ("awake", True),
        ("asleep", True),
        ("starting", True),
        ("testing", True),
        ("offline", False),
        ("error", False),
    ],
)
async def test_which_worker_statuses_time_out(
    make_manager_config: ConfigMaker, clock: FakeClock, status: str, times_out: bool
) -> None:
    """Upstream's FetchTimedOutWorkers: every status but `error` and `offline` times out."""
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="0s", worker_timeout="1m0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        if status == "offline":
            await worker.sign_off()
        else:
            await worker.state_changed(status)

        clock.advance(dt.timedelta(seconds=61))
        await running.app[keys.TIMEOUT_CHECKER].check()
        assert await worker_status(running, worker) == ("error" if times_out else status)


@pytest.mark.parametrize("call", ["state", "schedule", "may-i-run", "task-update"])
async def test_any_worker_call_counts_as_seen(
    make_manager_config: ConfigMaker, clock: FakeClock, call: str
) -> None:
    """Upstream's workerSeen: every authenticated Worker call keeps the Worker alive."""
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="0s", worker_timeout="1m0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()

        clock.advance(dt.timedelta(seconds=40))
        match call:
            case "state":
                await worker.state()
            case "schedule":
                await worker.schedule(expect=200)  # Its active task, handed out again.
            case "may-i-run":
                await worker.may_i_run(task["uuid"])
            case "task-update":
                await worker.update(task["uuid"], log="still rendering\n")
        clock.advance(dt.timedelta(seconds=40))
        await running.app[keys.TIMEOUT_CHECKER].check()
        assert await worker_status(running, worker) == "awake"


@pytest.mark.parametrize(
    ("call", "touches"),
    [("schedule", True), ("may-i-run", True), ("task-update", True), ("refused may-i-run", False)],
)
async def test_worker_calls_that_touch_the_task(
    make_manager_config: ConfigMaker, clock: FakeClock, call: str, touches: bool
) -> None:
    """Upstream's TaskTouchedByWorker: scheduleTask, taskUpdate and an allowed may-i-run."""
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="1m0s", worker_timeout="0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()

        clock.advance(dt.timedelta(seconds=40))
        match call:
            case "schedule":
                await worker.schedule(expect=200)
            case "may-i-run":
                assert (await worker.may_i_run(task["uuid"]))["mayKeepRunning"]
            case "task-update":
                await worker.update(task["uuid"], activity="rendering")
            case "refused may-i-run":
                await running.client.post(
                    f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                    json_body={"status": "asleep", "is_lazy": False},
                    expect=204,
                )
                assert not (await worker.may_i_run(task["uuid"]))["mayKeepRunning"]
        clock.advance(dt.timedelta(seconds=40))
        await running.app[keys.TIMEOUT_CHECKER].check()
        details = (await running.client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
        assert details["status"] == ("active" if touches else "failed")


async def test_restart_gives_workers_and_tasks_a_whole_timeout(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    """After a Manager restart, silence counts from its start, not from before it.

    Upstream waits 5 minutes before its first check for the same reason; we check every
    few seconds, so each check waits its own timeout after start-up instead.
    """
    settings = make_manager_config(task_timeout="10m0s", worker_timeout="1m0s")
    async for running in run_manager(settings, clock=clock):
        back = WorkerSession(running.client, name="comes-back")
        gone = WorkerSession(running.client, name="gone")
        for worker in (back, gone):
            await worker.start()
        job = await submit_echo_sleep(running.client, repeats=1)
        task = await back.next_task()

    # The Manager was down for half an hour; both Workers and the task went unheard.
    clock.advance(dt.timedelta(minutes=30))
    async for running in run_manager(settings, clock=clock):
        checker = running.app[keys.TIMEOUT_CHECKER]
        await checker.check()
        back.client = gone.client = running.client
        assert await worker_status(running, back) == "awake"
        assert await worker_status(running, gone) == "awake"

        clock.advance(dt.timedelta(seconds=30))
        assert (await back.may_i_run(task["uuid"]))["mayKeepRunning"]
        clock.advance(dt.timedelta(seconds=31))
        await checker.check()
        assert await worker_status(running, back) == "awake"
        assert await worker_status(running, gone) == "error"
        assert (await tasks_by_name(running.client, job["id"]))["echo"]["status"] == "active"


async def test_no_progress_watchdog_requeues_hung_task(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async for running in run_with_clock(
        make_manager_config,
        clock,
        task_timeout="1h0m0s",
        worker_timeout="1h0m0s",
        no_progress_timeout="10m0s",
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()
        checker = running.app[keys.TIMEOUT_CHECKER]
        for _ in range(2):
            clock.advance(dt.timedelta(minutes=4))
            await worker.update(task["uuid"], log="Fra:1 still going\n")
            assert (await worker.may_i_run(task["uuid"]))["mayKeepRunning"]
            await checker.check()
        # Now it only answers may-i-run: alive, but stuck.
        for _ in range(3):
            clock.advance(dt.timedelta(minutes=4))
            await worker.may_i_run(task["uuid"])
            await checker.check()
        answer = await worker.may_i_run(task["uuid"])
        assert answer["mayKeepRunning"] is False
        details = (await running.client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
        assert details["status"] == "queued"
        assert "made no progress for 10 min" in details["activity"]


async def test_short_timeouts_act_within_seconds_on_the_real_clock(
    make_manager_config: ConfigMaker,
) -> None:
    async for running in run_manager(
        make_manager_config(task_timeout="1s", worker_timeout="1h0m0s")
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        await submit_echo_sleep(running.client, repeats=1)
        task = await worker.next_task()
        async with asyncio.timeout(5):
            while True:
                details = (await running.client.get(f"/api/v3/tasks/{task['uuid']}")).json()
                if details["status"] == "failed":
                    break
                await asyncio.sleep(0.1)


async def test_zero_worker_timeout_switches_off_only_worker_timeouts(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    """Ours: `0s` switches off one check. Upstream's `worker_timeout: 0s` times out every Worker.

    And upstream's `task_timeout: 0s` switches off the Worker timeouts as well.
    """
    async for running in run_with_clock(
        make_manager_config, clock, task_timeout="10m0s", worker_timeout="0s"
    ):
        worker = WorkerSession(running.client)
        await worker.start()
        clock.advance(dt.timedelta(minutes=11))
        await running.app[keys.TIMEOUT_CHECKER].check()
        assert await worker_status(running, worker) == "awake"


async def test_checks_can_be_switched_off(manager: RunningManager) -> None:
    from flamenco.manager.services.timeout_checker import Timeouts

    off = Timeouts(task=dt.timedelta(0), worker=dt.timedelta(0))
    assert off.check_interval() is None
    quick = Timeouts(task=dt.timedelta(seconds=2), worker=dt.timedelta(minutes=1))
    assert quick.check_interval() == dt.timedelta(milliseconds=400)
