"""Work notices: a waiting Worker hears of new work over a WebSocket, against a real Manager."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestServer

from conftest import ConfigMaker
from flamenco.manager import config as manager_config_module
from flamenco.manager import keys
from flamenco.manager.app import create_app
from flamenco.worker import config
from flamenco.worker.client import WORK_NOTICES_PATH, Answer, ManagerClient
from flamenco.worker.states import Timings
from flamenco.worker.work_notices import WorkNotices
from flamenco.worker.worker import Worker, WorkerOptions
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

NOTICE = {"type": "work-available"}

# Idle polls so far apart that only a notice can start a task within the test.
LONG_POLL = Timings(
    first_fetch=0.05,
    no_task=3600.0,
    fetch_failed=3600.0,
    after_task=0.05,
    may_keep_running=0.5,
    asleep_poll=0.1,
)
FAST = Timings(
    first_fetch=0.05,
    no_task=0.2,
    fetch_failed=0.5,
    after_task=0.05,
    may_keep_running=0.5,
    asleep_poll=0.1,
)


def auth_header(worker: WorkerSession) -> dict[str, str]:
    pair = f"{worker.uuid}:{worker.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


Connect = Callable[[WorkerSession], Awaitable[aiohttp.ClientWebSocketResponse]]


@pytest.fixture
def connect(manager: RunningManager, session: aiohttp.ClientSession) -> Connect:
    async def open_socket(worker: WorkerSession) -> aiohttp.ClientWebSocketResponse:
        return await session.ws_connect(
            manager.base_url + WORK_NOTICES_PATH, headers=auth_header(worker)
        )

    return open_socket


async def wait_until_waiting(ws: aiohttp.ClientWebSocketResponse, manager: RunningManager) -> None:
    """Say "waiting" once earlier changes have had their notices, so only new ones count."""
    notices = manager.app[keys.WORK_NOTICES]
    await eventually(lambda: not notices.has_pending, "earlier changes were sent")
    before = notices.waiting_count
    await ws.send_json({"type": "waiting"})
    await eventually(lambda: notices.waiting_count > before, "the Manager saw 'waiting'")


async def test_spec_lists_the_extension(manager: RunningManager) -> None:
    spec = (await manager.client.get("/api/v3/openapi3.json", expect=200)).json()
    operation = spec["paths"][WORK_NOTICES_PATH]["get"]
    assert operation["operationId"] == "streamWorkNotices"
    assert operation["security"] == [{"worker_auth": []}]


async def test_needs_worker_credentials_and_an_upgrade(
    manager: RunningManager, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(manager.base_url + WORK_NOTICES_PATH)
    assert refused.value.status == 403
    worker = WorkerSession(manager.client)
    await worker.start()
    reply = await manager.client.get(
        WORK_NOTICES_PATH, auth=worker.auth, expect=400, check_spec=False
    )
    assert "WebSocket" in reply.json()["message"]


async def test_bad_frames_get_error_frames(manager: RunningManager, connect: Connect) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    async with await connect(worker) as ws:
        for frame in ("{not json", json.dumps({"type": "gimme"}), json.dumps([1])):
            await ws.send_str(frame)
            assert (await ws.receive_json())["error"]["code"] == 400
        await ws.send_bytes(b"binary")
        assert (await ws.receive_json())["error"]["code"] == 400


async def test_a_submitted_job_notifies_waiting_workers_only(
    manager: RunningManager, connect: Connect
) -> None:
    waiting, busy = (
        WorkerSession(manager.client, name="waiting"),
        WorkerSession(manager.client, name="busy"),
    )
    await waiting.start()
    await busy.start()
    notices = manager.app[keys.WORK_NOTICES]
    async with await connect(waiting) as waiting_ws, await connect(busy) as busy_ws:
        await wait_until_waiting(busy_ws, manager)
        await busy_ws.send_json({"type": "not-waiting"})
        await eventually(lambda: notices.waiting_count == 0, "the Manager saw 'not-waiting'")
        await wait_until_waiting(waiting_ws, manager)

        await submit_echo_sleep(manager.client)
        assert await waiting_ws.receive_json(timeout=10) == NOTICE
        await eventually(lambda: notices.counters.rounds >= 1, "a round of notices")
        assert notices.counters.notices == 1
        # The notice is answered the usual way.
        assert (await waiting.next_task())["name"] == "echo"


async def test_a_task_back_in_the_queue_or_a_finished_dependency_wakes_a_waiting_worker(
    manager: RunningManager, connect: Connect
) -> None:
    first, second = (
        WorkerSession(manager.client, name="first"),
        WorkerSession(manager.client, name="second"),
    )
    await first.start()
    await second.start()
    await submit_echo_sleep(manager.client)
    echo = await first.next_task()
    # The sleep tasks wait for the echo task: nothing for the second Worker yet.
    await second.schedule(expect=204)
    async with await connect(second) as ws:
        await wait_until_waiting(ws, manager)
        await first.update(echo["uuid"], taskStatus="failed", activity="Failed: test")
        assert await ws.receive_json(timeout=10) == NOTICE
        assert (await second.next_task())["uuid"] == echo["uuid"]  # soft-failed, runnable

        await ws.send_json({"type": "not-waiting"})
        await first.schedule(expect=204)
        async with await connect(first) as first_ws:
            await wait_until_waiting(first_ws, manager)
            await second.complete(echo)
            # Completing the echo task makes the sleep tasks runnable.
            assert await first_ws.receive_json(timeout=10) == NOTICE
            assert (await first.next_task())["name"] == "sleep"


async def test_removing_a_worker_from_a_blocklist_notifies_it(
    make_manager_config: ConfigMaker,
) -> None:
    loaded = make_manager_config(blocklist_threshold=2, task_fail_after_softfail_count=5)
    async for running in run_manager(loaded):
        client = running.client
        flaky, steady = WorkerSession(client, name="flaky"), WorkerSession(client, name="steady")
        await flaky.start()
        await steady.start()
        job = await submit_echo_sleep(client, repeats=4)
        await steady.complete(await steady.next_task())
        for _ in range(2):
            task = await flaky.next_task()
            await flaky.update(task["uuid"], taskStatus="failed", activity="Failed: test")
        await flaky.schedule(expect=204)  # blocklisted for this job's misc tasks
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                running.base_url + WORK_NOTICES_PATH, headers=auth_header(flaky)
            ) as ws,
        ):
            await wait_until_waiting(ws, running)
            await client.request(
                "DELETE",
                f"/api/v3/jobs/{job['id']}/blocklist",
                json_body=[{"worker_id": flaky.uuid, "task_type": "misc"}],
                expect=204,
            )
            assert await ws.receive_json(timeout=10) == NOTICE
            assert (await flaky.next_task())["name"] == "sleep"


async def test_a_closed_notice_service_refuses_new_sockets(
    manager: RunningManager, connect: Connect
) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    async with await connect(worker) as ws:
        await manager.app[keys.WORK_NOTICES].close()
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(worker)
    assert refused.value.status == 503


async def test_manager_shutdown_closes_notice_sockets(tmp_path: Path) -> None:
    process = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
    await process.start()
    try:
        async with aiohttp.ClientSession() as session:
            worker = WorkerSession(SpecCheckedClient(session, process.base_url))
            await worker.start()
            async with session.ws_connect(
                process.base_url + WORK_NOTICES_PATH, headers=auth_header(worker)
            ) as ws:
                await ws.send_json({"type": "waiting"})
                stopping = asyncio.ensure_future(process.stop())
                message = await ws.receive(timeout=20)
                assert message.type == WSMsgType.CLOSE
                assert message.data == WSCloseCode.GOING_AWAY
                assert await stopping == 0
    finally:
        if process.process is not None:
            await process.kill()


# --- a real Worker


@pytest.fixture
async def schedule_answers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The status of every scheduleTask answer a Worker in this test got, in order."""
    answers: list[int] = []
    original = ManagerClient.schedule_task

    async def recording(self: ManagerClient) -> Answer:
        answer = await original(self)
        answers.append(answer.status)
        return answer

    monkeypatch.setattr(ManagerClient, "schedule_task", recording)
    return answers


async def run_worker(
    base_url: str, home: Path, timings: Timings
) -> tuple[Worker, asyncio.Task[int]]:
    cfg = config.WorkerConfig(worker_name="notice-test", manager_url=base_url)
    worker = Worker(WorkerOptions(config=cfg, home=home, timings=timings, handle_signals=False))
    return worker, asyncio.create_task(worker.run())


async def stop_worker(worker: Worker, task: asyncio.Task[int]) -> None:
    worker.request_stop()
    await asyncio.wait_for(task, 30)


async def test_an_idle_worker_starts_a_new_job_on_a_notice_not_on_its_poll(
    manager: RunningManager, tmp_path: Path, schedule_answers: list[int]
) -> None:
    worker, task = await run_worker(manager.base_url, tmp_path / "home", LONG_POLL)
    notices = manager.app[keys.WORK_NOTICES]
    try:
        # Awake, asked, found nothing, and now waits (its next poll is an hour away).
        await eventually(
            lambda: (
                bool(schedule_answers) and not notices.has_pending and notices.waiting_count == 1
            ),
            "the Worker waits for work",
        )
        assert worker.work_notices is not None
        received_before = worker.work_notices.notices_received
        asked_before = len(schedule_answers)
        job = await submit_echo_sleep(manager.client, repeats=1)
        await eventually(lambda: 200 in schedule_answers, "the Worker took a task")
        # Nothing but 204s before the job; the notice made it ask again at once.
        assert set(schedule_answers[:asked_before]) == {204}
        assert schedule_answers[asked_before] == 200
        assert worker.work_notices.notices_received > received_before
        tasks = (await manager.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
        statuses = {t["name"]: t["status"] for t in tasks["tasks"]}
        assert statuses["echo"] in {"active", "completed"}
    finally:
        await stop_worker(worker, task)
    await eventually(lambda: notices.connection_count == 0, "the Worker's socket closed")


async def test_worker_polls_as_before_when_the_manager_lacks_work_notices(
    manager_config: manager_config_module.LoadedConfig,
    tmp_path: Path,
    schedule_answers: list[int],
) -> None:
    app = await create_app(manager_config)
    # An upstream Manager's spec: no work notices path (nor a handler for one).
    upstream_like = copy.copy(app[keys.SPEC])
    document = copy.deepcopy(upstream_like.document)
    del document["paths"][WORK_NOTICES_PATH]
    upstream_like.as_json = json.dumps(document).encode()
    app[keys.SPEC] = upstream_like
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base_url = str(server.make_url("/")).rstrip("/")
    worker, task = await run_worker(base_url, tmp_path / "home", FAST)
    try:
        async with aiohttp.ClientSession() as session:
            # Idle: it asked and found nothing.
            await eventually(lambda: 204 in schedule_answers, "the Worker asked for work")
            assert worker.work_notices is None
            job = {
                "name": "polled",
                "type": "echo-sleep-test",
                "priority": 50,
                "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 1},
                "metadata": {},
            }
            async with session.post(base_url + "/api/v3/jobs", json=job) as reply:
                job_id = (await reply.json())["id"]

            async def status() -> str:
                async with session.get(f"{base_url}/api/v3/jobs/{job_id}") as reply:
                    return str((await reply.json())["status"])

            deadline = time.monotonic() + 30
            while await status() != "completed":
                assert time.monotonic() < deadline, "the polling Worker never finished the job"
                await asyncio.sleep(0.1)
        assert app[keys.WORK_NOTICES].connection_count == 0
        assert app[keys.WORK_NOTICES].counters.notices == 0
    finally:
        await stop_worker(worker, task)
        await server.close()


class QuickClock:
    """Records the waits asked for and waits only briefly."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> Any:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0.01)


async def test_notice_socket_reconnects_with_backoff_and_asks_once_after(
    manager: RunningManager,
) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    client = ManagerClient(manager.base_url, credentials=config.Credentials(*worker.auth))
    clock = QuickClock()
    notices = WorkNotices(client, clock, rng=random.Random(1))
    service = manager.app[keys.WORK_NOTICES]
    running = asyncio.create_task(notices.run())
    try:
        await notices.waiting()
        await eventually(lambda: service.waiting_count == 1, "connected and waiting")
        # The Manager goes away and refuses for a while: the Worker backs off.
        await service.close()
        await eventually(lambda: len(clock.sleeps) >= 3, "reconnection attempts")
        service.closed = False
        await eventually(lambda: service.waiting_count == 1, "reconnected and waiting again")
        first, second, third = clock.sleeps[:3]
        assert 0.75 <= first <= 1.25
        assert 1.5 <= second <= 2.5
        assert 3.0 <= third <= 5.0
        # Notices may have been missed meanwhile: the next wait ends at once.
        assert await notices.wait_for_work(3600) is True
    finally:
        await notices.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await client.close()
