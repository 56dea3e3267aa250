"""The Worker's state machine, driven by a scripted Manager and a clock that never really waits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import pytest

from flamenco.api.enums import WorkerStatus
from flamenco.worker.client import Answer, ManagerUnreachable
from flamenco.worker.states import StateMachine, Timings, effective_state


class InstantClock:
    """Records every wait and returns at once."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> Any:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        await asyncio.sleep(0)


class ScriptedManager:
    def __init__(
        self, schedule: list[Answer | Exception], states: list[Answer] | None = None
    ) -> None:
        self.schedule = schedule
        self.states = states or []
        self.acknowledged: list[str] = []
        self.may_i_run: list[Answer] = []

    async def worker_state_changed(self, status: str) -> Answer:
        self.acknowledged.append(status)
        return Answer(204, None)

    async def schedule_task(self) -> Answer:
        answer = self.schedule.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def worker_state(self) -> Answer:
        return self.states.pop(0)

    async def may_worker_run(self, task_id: str) -> Answer:
        return self.may_i_run.pop(0) if self.may_i_run else Answer(200, {"mayKeepRunning": True})


class Runner:
    def __init__(self, duration: float = 0.0) -> None:
        self.ran: list[str] = []
        self.duration = duration
        self.cancelled = False

    async def run(self, task: Mapping[str, Any]) -> None:
        self.ran.append(str(task["uuid"]))
        try:
            await asyncio.sleep(self.duration)
        except asyncio.CancelledError:
            self.cancelled = True
            raise


NO_JITTER = Timings(jitter=0.0)


def machine(manager: ScriptedManager, runner: Runner, clock: InstantClock) -> StateMachine:
    return StateMachine(manager, runner, clock, timings=NO_JITTER, rng=random.Random(1))


@pytest.mark.parametrize(
    ("requested", "state"),
    [
        ("awake", WorkerStatus.AWAKE),
        ("asleep", WorkerStatus.ASLEEP),
        ("offline", WorkerStatus.OFFLINE),
        ("restart", WorkerStatus.RESTART),
        ("error", WorkerStatus.ASLEEP),
        ("testing", WorkerStatus.ASLEEP),
        ("starting", WorkerStatus.ASLEEP),
        ("", WorkerStatus.ASLEEP),
    ],
)
def test_effective_state(requested: str, state: WorkerStatus) -> None:
    assert effective_state(requested) == state


async def test_awake_backs_off_as_upstream_then_follows_status_request() -> None:
    manager = ScriptedManager(
        [
            Answer(204, None),
            ManagerUnreachable("refused"),
            Answer(403, {"message": "who are you"}),
            Answer(500, {"message": "oops"}),
            Answer(200, {"uuid": "task-1"}),
            Answer(423, {"status_requested": "offline"}),
        ]
    )
    runner, clock = Runner(), InstantClock()
    final = await machine(manager, runner, clock).run("awake")
    assert final == WorkerStatus.OFFLINE
    assert manager.acknowledged == ["awake"]  # offline is acknowledged by signing off
    assert runner.ran == ["task-1"]
    # 3 s first, 20 s after "no task", 1 min after errors, 2 s after a task, then 3 s again;
    # the 10 s waits between may-i-run questions during the task are left out.
    fetch_waits = [wait for wait in clock.sleeps if wait != 10.0]
    assert fetch_waits == [3.0, 20.0, 60.0, 60.0, 60.0, 2.0, 3.0]


async def test_asleep_polls_every_three_seconds_and_wakes() -> None:
    manager = ScriptedManager(
        [Answer(423, {"status_requested": "restart"})],
        states=[Answer(204, None), Answer(500, None), Answer(200, {"status_requested": "awake"})],
    )
    clock = InstantClock()
    final = await machine(manager, Runner(), clock).run("asleep")
    assert final == WorkerStatus.RESTART
    assert manager.acknowledged == ["asleep", "awake"]
    assert clock.sleeps == [3.0, 3.0, 3.0, 3.0]


async def test_unknown_requested_state_means_asleep() -> None:
    manager = ScriptedManager([], states=[Answer(200, {"status_requested": "offline"})])
    final = await machine(manager, Runner(), InstantClock()).run("testing")
    assert final == WorkerStatus.OFFLINE
    assert manager.acknowledged == ["asleep"]


async def test_jitter_stays_within_ten_percent() -> None:
    answers: list[Answer | Exception] = [Answer(204, None)] * 50
    manager = ScriptedManager([*answers, Answer(423, {"status_requested": "offline"})])
    clock = InstantClock()
    await StateMachine(manager, Runner(), clock, rng=random.Random(7)).run("awake")
    assert 2.7 <= clock.sleeps[0] <= 3.3
    assert all(18.0 <= wait <= 22.0 for wait in clock.sleeps[1:])
    assert len(set(clock.sleeps[1:])) > 1


async def test_manager_saying_no_aborts_the_task() -> None:
    manager = ScriptedManager([])
    manager.may_i_run = [
        Answer(200, {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}),
        Answer(
            200,
            {"mayKeepRunning": False, "reason": "task canceled", "statusChangeRequested": False},
        ),
    ]
    runner = Runner(duration=60)
    await machine(manager, runner, InstantClock()).run_task({"uuid": "task-1"})
    assert runner.cancelled


async def test_may_i_run_errors_mean_keep_running() -> None:
    class Flaky(ScriptedManager):
        calls = 0

        async def may_worker_run(self, task_id: str) -> Answer:
            self.calls += 1
            raise ManagerUnreachable("down")

    manager = Flaky([])
    runner = Runner(duration=0.05)
    await machine(manager, runner, InstantClock()).run_task({"uuid": "task-1"})
    assert not runner.cancelled
    assert manager.calls > 0


async def test_shutdown_while_a_task_is_being_aborted_is_not_lost() -> None:
    """A stop that arrives while an aborted task is still cleaning up must end the loop."""

    class SlowToStop(Runner):
        stopping = asyncio.Event()

        async def run(self, task: Mapping[str, Any]) -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.stopping.set()
                await asyncio.sleep(0.2)  # the subprocess takes a moment to exit
                raise

    manager = ScriptedManager([Answer(200, {"uuid": "task-1"})] * 5)
    manager.may_i_run = [Answer(200, {"mayKeepRunning": False, "reason": "canceled"})]
    runner = SlowToStop()
    loop = asyncio.create_task(machine(manager, runner, InstantClock()).run("awake"))
    await asyncio.wait_for(runner.stopping.wait(), 5)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop, 5)


class RecordingWaiter:
    """Work notices that record what the state machine tells them; no notice ever comes."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def waiting(self) -> None:
        self.log.append("waiting")

    async def not_waiting(self) -> None:
        self.log.append("not-waiting")

    def forget_notices(self) -> None:
        self.log.append("forget")

    async def wait_for_work(self, seconds: float) -> bool:
        self.log.append(f"wait-for-work {seconds:g}")
        await asyncio.sleep(0)
        return False


async def test_with_work_notices_idle_waits_are_notice_waits() -> None:
    log: list[str] = []

    class LoggingManager(ScriptedManager):
        async def schedule_task(self) -> Answer:
            log.append("schedule")
            return await super().schedule_task()

    manager = LoggingManager(
        [
            Answer(204, None),
            Answer(204, None),
            ManagerUnreachable("refused"),
            Answer(200, {"uuid": "task-1"}),
            Answer(423, {"status_requested": "offline"}),
        ]
    )
    clock = InstantClock()
    states = StateMachine(manager, Runner(), clock, timings=NO_JITTER, notices=RecordingWaiter(log))
    assert await states.run("awake") == WorkerStatus.OFFLINE
    assert log == [
        "waiting",
        "forget",
        "schedule",  # after the first 3 s, a plain wait
        "waiting",
        "wait-for-work 20",  # no task: wait for a notice, at most the usual 20 s
        "forget",
        "schedule",
        "waiting",
        "wait-for-work 20",
        "forget",
        "schedule",  # unreachable: the 1 min wait is a plain one
        "forget",
        "schedule",
        "not-waiting",  # got a task
        "waiting",
        "forget",
        "schedule",
        "not-waiting",  # leaves the awake state
    ]
    fetch_waits = [wait for wait in clock.sleeps if wait != 10.0]
    assert fetch_waits == [3.0, 60.0, 2.0, 3.0]
