"""Worker sleep schedules over HTTP: storing, applying on save, at sign-on and over time."""

from __future__ import annotations

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
