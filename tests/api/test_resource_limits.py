"""Resource limits over the API: max_workers per job, named farm-wide limits, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.jobs import submit_echo_sleep
from support.limits import (
    COMP_TASK_TYPES,
    licensed_comp_job,
    limit_use,
    submit,
    write_licensed_comp_job_type,
)
from support.manager import RunningManager, run_manager
from support.worker_session import WorkerSession

WORKERS = 8


@pytest.fixture
async def limited_manager(tmp_path: Path, make_manager_config) -> AsyncIterator[RunningManager]:  # type: ignore[no-untyped-def]
    """A Manager whose farm has 3 nuke licences, and a job type whose comp tasks take one."""
    write_licensed_comp_job_type(tmp_path / "scripts")
    loaded = make_manager_config(resource_limits={"nuke-licence": 3, "nas": 1})
    async for running in run_manager(loaded):
        yield running


async def awake_workers(manager: RunningManager, count: int) -> list[WorkerSession]:
    sessions = [
        WorkerSession(manager.client, name=f"worker-{number}", task_types=COMP_TASK_TYPES)
        for number in range(count)
    ]
    await asyncio.gather(*(session.start() for session in sessions))
    return sessions


async def ask_all_at_once(sessions: list[WorkerSession]) -> list[dict[str, object]]:
    """Every Worker asks for a task at the same moment; the tasks handed out."""
    replies = await asyncio.gather(*(session.schedule(expect=(200, 204)) for session in sessions))
    return [reply.json() for reply in replies if reply.status == 200]


async def test_max_workers_is_echoed_and_can_be_changed(manager: RunningManager) -> None:
    job = await submit_echo_sleep(manager.client, max_workers=2)
    assert job["max_workers"] == 2
    fetched = (await manager.client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
    assert fetched["max_workers"] == 2

    path = f"/api/v3/jobs/{job['id']}/max-workers"
    changed = await manager.client.post(path, json_body={"max_workers": 5}, expect=200)
    assert changed.json()["max_workers"] == 5
    lifted = await manager.client.post(path, json_body={"max_workers": None}, expect=200)
    assert "max_workers" not in lifted.json()

    uncapped = await submit_echo_sleep(manager.client)
    assert "max_workers" not in uncapped


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_bad_max_workers_are_refused(manager: RunningManager) -> None:
    job = await submit_echo_sleep(manager.client)
    path = f"/api/v3/jobs/{job['id']}/max-workers"
    for bad in (0, -1, "two", 2**31):
        reply = await manager.client.post(path, json_body={"max_workers": bad}, expect=400)
        assert "max_workers" in reply.json()["message"]
    await manager.client.post(path, json_body={}, expect=400)
    unknown = "/api/v3/jobs/00000000-0000-4000-8000-000000000000/max-workers"
    await manager.client.post(unknown, json_body={"max_workers": 1}, expect=404)
    await manager.client.post(
        "/api/v3/jobs",
        json_body={
            "name": "bad",
            "type": "echo-sleep-test",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "x"},
            "max_workers": 0,
        },
        expect=400,
    )


async def test_two_workers_asking_at_once_never_exceed_max_workers(
    manager: RunningManager,
) -> None:
    # 12 sleep tasks become ready once the echo task is done.
    job = await submit_echo_sleep(manager.client, repeats=12, max_workers=3)
    sessions = await awake_workers(manager, WORKERS)
    first = await sessions[0].next_task()
    await sessions[0].complete(first)

    handed_out = await ask_all_at_once(sessions)
    assert len(handed_out) == 3
    assert {task["job"] for task in handed_out} == {job["id"]}
    runners = [await _worker_of(manager, sessions, task["uuid"]) for task in handed_out]
    idle = [session for session in sessions if session not in runners]
    # Asking again changes nothing while they run...
    assert await ask_all_at_once(idle) == []
    # ...and one finishing frees one place, for one of the Workers asking at once.
    await runners[0].complete(handed_out[0])
    assert len(await ask_all_at_once([runners[0], *idle])) == 1
    tasks = (await manager.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
    assert sum(task["status"] == "active" for task in tasks["tasks"]) == 3


async def test_a_limit_is_never_exceeded_across_jobs(limited_manager: RunningManager) -> None:
    client = limited_manager.client
    first = await submit(client, licensed_comp_job(name="comp A", tasks=4))
    second = await submit(client, licensed_comp_job(name="comp B", tasks=4))
    sessions = await awake_workers(limited_manager, WORKERS)
    assert await limit_use(client) == {"nas": (0, 1), "nuke-licence": (0, 3)}

    handed_out = await ask_all_at_once(sessions)
    assert len(handed_out) == 3
    assert {task["job"] for task in handed_out} <= {first["id"], second["id"]}
    assert await limit_use(client) == {"nas": (0, 1), "nuke-licence": (3, 3)}

    # A job without limited tasks still gets the idle Workers.
    echo = await submit_echo_sleep(client, repeats=1)
    idle = [s for s in sessions if not await _runs_something(limited_manager, s)]
    more = await ask_all_at_once(idle)
    assert [task["job"] for task in more] == [echo["id"]]
    assert await limit_use(client) == {"nas": (0, 1), "nuke-licence": (3, 3)}


async def test_limit_and_max_workers_together(limited_manager: RunningManager) -> None:
    client = limited_manager.client
    capped = await submit(client, licensed_comp_job(name="capped", tasks=6, max_workers=1))
    other = await submit(client, licensed_comp_job(name="other", tasks=6))
    sessions = await awake_workers(limited_manager, WORKERS)
    handed_out = await ask_all_at_once(sessions)
    jobs = [task["job"] for task in handed_out]
    assert len(jobs) == 3
    assert jobs.count(capped["id"]) <= 1
    assert jobs.count(other["id"]) >= 2


async def test_workers_look_past_higher_priority_jobs_that_are_full(
    limited_manager: RunningManager,
) -> None:
    client = limited_manager.client
    capped = await submit(client, licensed_comp_job(name="capped", priority=90, max_workers=1))
    # Its comp tasks take the 3 licences; its misc tasks may still run.
    mixed = await submit(
        client, licensed_comp_job(name="mixed", priority=80, tasks=5, misc_tasks=2)
    )
    low = await submit_echo_sleep(client, priority=10, repeats=1)
    sessions = await awake_workers(limited_manager, 8)
    jobs = []
    for session in sessions:  # one at a time: the order is the scheduler's
        reply = await session.schedule(expect=(200, 204))
        jobs.append(reply.json()["job"] if reply.status == 200 else None)
    names = {capped["id"]: "capped", mixed["id"]: "mixed", low["id"]: "low", None: "none"}
    assert [names[job] for job in jobs] == [
        "capped",  # its cap is 1
        "mixed",  # comp: licences 2 and 3 (the capped job's task holds one)
        "mixed",
        "mixed",  # then its misc tasks, though its comp tasks wait for a licence
        "mixed",
        "low",  # the echo task; the sleep task waits for it
        "none",
        "none",
    ]


async def test_limits_of_a_job_type_are_kept_when_the_script_changes(
    tmp_path: Path, limited_manager: RunningManager
) -> None:
    client = limited_manager.client
    await submit(client, licensed_comp_job(tasks=5))
    # The script no longer declares limits: the stored job keeps its own.
    script = tmp_path / "scripts" / "licensed_comp.js"
    script.write_text(
        script.read_text(encoding="utf-8").replace(
            'resourceLimits: { comp: ["nuke-licence"] },', ""
        ),
        encoding="utf-8",
    )
    sessions = await awake_workers(limited_manager, 5)
    assert len(await ask_all_at_once(sessions)) == 3


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_malformed_resource_limits_declaration_breaks_the_job_type(
    tmp_path: Path, limited_manager: RunningManager
) -> None:
    script = tmp_path / "scripts" / "licensed_comp.js"
    script.write_text(
        script.read_text(encoding="utf-8").replace('["nuke-licence"]', "[42]"),
        encoding="utf-8",
    )
    listing = (await limited_manager.client.get("/api/v3/jobs/types", expect=200)).json()
    broken = {entry["name"]: entry["message"] for entry in listing.get("broken_job_types", [])}
    assert "resourceLimits" in broken["licensed-comp"]


async def _worker_of(
    manager: RunningManager, sessions: list[WorkerSession], task_uuid: str
) -> WorkerSession:
    task = (await manager.client.get(f"/api/v3/tasks/{task_uuid}", expect=200)).json()
    return next(s for s in sessions if s.uuid == task["worker"]["id"])


async def _runs_something(manager: RunningManager, session: WorkerSession) -> bool:
    worker = (
        await manager.client.get(f"/api/v3/worker-mgt/workers/{session.uuid}", expect=200)
    ).json()
    return "task" in worker
