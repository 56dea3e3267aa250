"""Worker sleep schedules over HTTP: storing, applying on save, at sign-on and over time."""

from __future__ import annotations

import contextlib
import datetime as dt

from conftest import ConfigMaker
from flamenco.manager import keys
from support.fakes import FakeClock
from support.manager import RunningManager, run_manager
from support.worker_session import WorkerSession


def schedule_path(worker: WorkerSession) -> str:
    return f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule"


async def test_schedule_round_trip_and_validation(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    await manager.client.get(schedule_path(worker), expect=204)
    body = {"is_active": False, "days_of_week": "Mon TU", "start_time": "18:00", "end_time": "9:00"}
    await manager.client.post(schedule_path(worker), json_body=body, expect=204)
    stored = (await manager.client.get(schedule_path(worker), expect=200)).json()
    assert stored == {
        "is_active": False,
        "days_of_week": "mo tu",
        "start_time": "09:00",
        "end_time": "18:00",
    }
    reply = await manager.client.post(
        schedule_path(worker), json_body={**body, "start_time": "noon"}, expect=400
    )
    assert "start_time" in reply.json()["message"]


async def test_schedule_applies_on_save_over_time_and_at_sign_on(
    make_manager_config: ConfigMaker,
) -> None:
    # Local noon on a day; the schedule sends Workers to sleep from 12:00 to 13:00.
    noon = dt.datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    clock = FakeClock(noon.astimezone(dt.UTC))
    quiet = make_manager_config(task_timeout="0s", worker_timeout="0s")
    async for running in run_manager(quiet, clock=clock):
        worker = WorkerSession(running.client)
        await worker.start()
        body = {"is_active": True, "days_of_week": "", "start_time": "12:00", "end_time": "13:00"}
        await running.client.post(schedule_path(worker), json_body=body, expect=204)
        assert (await worker.state()).json() == {"status_requested": "asleep"}
        await worker.state_changed("asleep")

        # The schedule survives a restart of the Worker.
        await worker.sign_off()
        assert await worker.sign_on() == "asleep"
        await worker.state_changed("asleep")

        clock.advance(dt.timedelta(hours=1, minutes=1))
        await running.app[keys.SLEEP_SCHEDULER].check_due()
        assert (await worker.state()).json() == {"status_requested": "awake"}


def manager_at_local_noon(
    make_manager_config: ConfigMaker,
) -> contextlib.AbstractAsyncContextManager[RunningManager]:
    """A Manager whose clock stands at local noon, without timeouts to get in the way."""
    noon = dt.datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    clock = FakeClock(noon.astimezone(dt.UTC))
    quiet = make_manager_config(task_timeout="0s", worker_timeout="0s")
    return contextlib.asynccontextmanager(run_manager)(quiet, clock=clock)


async def pending_request(worker: WorkerSession) -> str | None:
    """What the Worker hears when it polls its state: a status, or None for nothing."""
    reply = await worker.state()
    return None if reply.status == 204 else str(reply.json()["status_requested"])


SLEEP_AT_NOON = {"is_active": True, "days_of_week": "", "start_time": "12:00", "end_time": "13:00"}


async def test_saving_inactive_schedule_wakes_worker_at_once(
    make_manager_config: ConfigMaker,
) -> None:
    """Upstream's SetSchedule applies every save; an inactive schedule means awake."""
    async with manager_at_local_noon(make_manager_config) as running:
        worker = WorkerSession(running.client)
        await worker.start()
        await running.client.post(schedule_path(worker), json_body=SLEEP_AT_NOON, expect=204)
        assert await pending_request(worker) == "asleep"
        await worker.state_changed("asleep")

        inactive = {**SLEEP_AT_NOON, "is_active": False}
        await running.client.post(schedule_path(worker), json_body=inactive, expect=204)
        assert await pending_request(worker) == "awake"
        await worker.state_changed("awake")
        # Saving it again changes nothing: the Worker already has the scheduled status.
        await running.client.post(schedule_path(worker), json_body=inactive, expect=204)
        assert await pending_request(worker) is None


async def test_schedule_skips_workers_in_error_only(make_manager_config: ConfigMaker) -> None:
    """Upstream's skip list holds `error` alone; an offline Worker gets its request at sign-on."""
    async with manager_at_local_noon(make_manager_config) as running:
        broken = WorkerSession(running.client, name="broken")
        await broken.start()
        await broken.state_changed("error")
        await running.client.post(schedule_path(broken), json_body=SLEEP_AT_NOON, expect=204)
        assert await pending_request(broken) is None

        away = WorkerSession(running.client, name="away")
        await away.start()
        await away.sign_off()
        await running.client.post(schedule_path(away), json_body=SLEEP_AT_NOON, expect=204)
        assert await away.sign_on() == "asleep"
