"""Worker registration, sign-on and -off, status requests, deletion and tags over HTTP."""

from __future__ import annotations

import uuid

import pytest

from support.jobs import submit_echo_sleep, tasks_by_name
from support.manager import RunningManager
from support.worker_session import WorkerSession


async def test_registration_and_sign_on(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client, name="render-01")
    registered = await worker.register()
    assert registered["name"] == "render-01"
    assert registered["address"] == "127.0.0.1"
    assert registered["supported_task_types"] == ["blender", "ffmpeg", "file-management", "misc"]
    assert await worker.sign_on(can_restart=True) == "awake"

    details = (
        await manager.client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
    ).json()
    assert details["status"] == "starting"
    assert details["version"] == "3.9-test"
    assert details["can_restart"] is True
    assert details["platform"] == "linux"

    await worker.state_changed("awake")
    listed = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert [(w["id"], w["status"]) for w in listed["workers"]] == [(worker.uuid, "awake")]


async def test_lazy_status_change_waits_for_task(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
        json_body={"status": "asleep", "is_lazy": True},
        expect=204,
    )
    # A lazy request lets the current task finish, then stops new work.
    assert (await worker.may_i_run(task["uuid"]))["mayKeepRunning"] is True
    await worker.complete(task)
    reply = await worker.schedule(expect=423)
    assert reply.json() == {"status_requested": "asleep"}
    state = await worker.state()
    assert state.json() == {"status_requested": "asleep"}
    await worker.state_changed("asleep")
    await worker.client.get("/api/v3/worker/state", auth=worker.auth, expect=204)
    await worker.schedule(expect=409)


async def test_immediate_status_change_stops_task(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
        json_body={"status": "offline", "is_lazy": False},
        expect=204,
    )
    answer = await worker.may_i_run(task["uuid"])
    assert answer == {
        "mayKeepRunning": False,
        "reason": "worker status change requested",
        "statusChangeRequested": True,
    }
    await worker.sign_off()
    tasks = await tasks_by_name(client, job["id"])
    assert tasks["echo"]["status"] == "queued"
    details = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
    assert details["activity"] == "Task was requeued by Manager because worker signed off"


async def request_status(
    manager: RunningManager, worker: WorkerSession, status: str, *, is_lazy: bool
) -> None:
    await manager.client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
        json_body={"status": status, "is_lazy": is_lazy},
        expect=204,
    )


async def status_change_of(manager: RunningManager, worker: WorkerSession) -> object:
    details = (
        await manager.client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
    ).json()
    return details.get("status_change")


async def test_sign_off_remembers_status_for_next_sign_on(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    await worker.state_changed("asleep")
    await worker.sign_off()
    assert await worker.sign_on() == "asleep"


@pytest.mark.parametrize("status", ["awake", "asleep"])
@pytest.mark.parametrize(("requested", "can_restart"), [("offline", False), ("restart", True)])
async def test_sign_off_fulfils_offline_request_then_remembers_status(
    manager: RunningManager, status: str, requested: str, can_restart: bool
) -> None:
    """Upstream's SignOff and TestWorkerRememberPreviousStatus.

    Signing off fulfils a pending `offline` or `restart` request; the status the Worker had
    then becomes the (non-lazy) request for its next sign-on.
    """
    worker = WorkerSession(manager.client)
    await worker.register()
    await worker.sign_on(can_restart=can_restart)
    await worker.state_changed(status)
    await request_status(manager, worker, requested, is_lazy=True)

    await worker.sign_off()
    assert await status_change_of(manager, worker) == {"status": status, "is_lazy": False}
    assert await worker.sign_on() == status


async def test_sign_off_keeps_other_pending_request(manager: RunningManager) -> None:
    """Upstream's SignOff: a request that is not `offline` or `restart` waits for sign-on."""
    worker = WorkerSession(manager.client)
    await worker.start()
    await request_status(manager, worker, "asleep", is_lazy=True)
    await worker.sign_off()
    assert await status_change_of(manager, worker) == {"status": "asleep", "is_lazy": True}
    assert await worker.sign_on() == "asleep"


async def test_sign_off_from_error_is_not_remembered(manager: RunningManager) -> None:
    """Upstream's TestWorkerDontRememberPreviousStatus: only awake and asleep come back."""
    worker = WorkerSession(manager.client)
    await worker.start()
    await worker.state_changed("error")
    await request_status(manager, worker, "offline", is_lazy=True)
    await worker.sign_off()
    assert await status_change_of(manager, worker) is None
    # Nothing pending: the sign-on answer comes from the sleep schedule, here none.
    assert await worker.sign_on() == "awake"


async def test_restart_needs_restartable_worker(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    reply = await manager.client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
        json_body={"status": "restart", "is_lazy": False},
        expect=412,
    )
    assert "restart" in reply.json()["message"]


async def test_requesting_current_status_clears_request(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.start()
    path = f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus"
    await manager.client.post(path, json_body={"status": "asleep", "is_lazy": True}, expect=204)
    summary = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert summary["workers"][0]["status_change"] == {"status": "asleep", "is_lazy": True}
    await manager.client.post(path, json_body={"status": "awake", "is_lazy": False}, expect=204)
    summary = (await manager.client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert "status_change" not in summary["workers"][0]


async def test_deleted_worker_loses_tasks_and_access(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    await worker.next_task()
    await client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=204)
    echo = (await tasks_by_name(client, job["id"]))["echo"]
    assert echo["status"] == "queued"
    details = (await client.get(f"/api/v3/tasks/{echo['id']}", expect=200)).json()
    assert details["activity"] == "Task was requeued by Manager because worker is being deleted"
    await worker.schedule(expect=403)
    listed = (await client.get("/api/v3/worker-mgt/workers", expect=200)).json()
    assert listed["workers"] == []
    await client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=404)
    await client.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=404)


async def test_worker_details_show_task_and_tags(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    tag = (
        await client.post(
            "/api/v3/worker-mgt/tags",
            json_body={"name": "gpu", "description": "GPU nodes"},
            expect=200,
        )
    ).json()
    await client.post(
        f"/api/v3/worker-mgt/workers/{worker.uuid}/settags",
        json_body={"tag_ids": [tag["id"], str(uuid.uuid4())]},
        expect=204,
    )
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    details = (await client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)).json()
    assert details["tags"] == [{"id": tag["id"], "name": "gpu", "description": "GPU nodes"}]
    assert details["task"]["id"] == task["uuid"]
    assert details["task"]["job_id"] == job["id"]


async def test_worker_tag_crud(manager: RunningManager) -> None:
    client = manager.client
    created = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "cpu"}, expect=200)
    ).json()
    tag_path = f"/api/v3/worker-mgt/tag/{created['id']}"
    assert (await client.get(tag_path, expect=200)).json() == {"id": created["id"], "name": "cpu"}
    await client.put(tag_path, json_body={"name": "cpu-farm", "description": "all"}, expect=204)
    assert (await client.get(tag_path, expect=200)).json()["name"] == "cpu-farm"
    await client.post("/api/v3/worker-mgt/tags", json_body={"name": "cpu-farm"}, expect=409)
    given_id = str(uuid.uuid4())
    explicit = (
        await client.post(
            "/api/v3/worker-mgt/tags", json_body={"id": given_id, "name": "explicit"}, expect=200
        )
    ).json()
    assert explicit["id"] == given_id
    listed = (await client.get("/api/v3/worker-mgt/tags", expect=200)).json()
    assert [tag["name"] for tag in listed["tags"]] == ["cpu-farm", "explicit"]
    await client.delete(tag_path, expect=204)
    await client.get(tag_path, expect=404)
    await client.delete(tag_path, expect=404)


async def test_tagged_jobs_go_to_tagged_workers(manager: RunningManager) -> None:
    client = manager.client
    tag = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    tagged = WorkerSession(client, name="tagged")
    plain = WorkerSession(client, name="plain")
    for worker in (tagged, plain):
        await worker.start()
    await client.post(
        f"/api/v3/worker-mgt/workers/{tagged.uuid}/settags",
        json_body={"tag_ids": [tag["id"]]},
        expect=204,
    )
    await submit_echo_sleep(client, repeats=1, worker_tag=tag["id"])
    await plain.schedule(expect=204)
    assert (await tagged.next_task())["name"] == "echo"


async def test_submission_with_unknown_tag_is_refused(manager: RunningManager) -> None:
    job = {
        "name": "x",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi"},
        "worker_tag": str(uuid.uuid4()),
    }
    reply = await manager.client.post("/api/v3/jobs", json_body=job, expect=400)
    assert "worker tag" in reply.json()["message"]


async def test_unrequested_status_change_keeps_the_request(manager: RunningManager) -> None:
    """Upstream's TestWorkerStateChangedAfterChangeRequest: only the requested status acks it.

    A Worker may pass through other statuses on its way (offline, starting, asleep).
    """
    worker = WorkerSession(manager.client)
    await worker.start()
    await worker.sign_off()
    await request_status(manager, worker, "asleep", is_lazy=False)
    assert await worker.sign_on() == "asleep"
    await worker.state_changed("starting")
    assert await status_change_of(manager, worker) == {"status": "asleep", "is_lazy": False}
    await worker.state_changed("asleep")
    assert await status_change_of(manager, worker) is None


async def test_leaving_awake_gives_back_the_task(manager: RunningManager) -> None:
    """Upstream's TestWorkerStateChanged: a Worker that stops being awake loses its task."""
    client = manager.client
    worker = WorkerSession(client, name="dozy")
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.state_changed("asleep")
    details = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
    assert details["status"] == "queued"
    assert details["activity"] == (
        f"Task was requeued by Manager because worker dozy ({worker.uuid}) "
        "changed status to 'asleep'"
    )
    assert (await tasks_by_name(client, job["id"]))["echo"]["status"] == "queued"


async def test_status_request_comes_before_not_awake(manager: RunningManager) -> None:
    """Upstream's TestTaskScheduleOtherStatusRequestedAndBadState: 423 wins over 409.

    This is how a Worker in error (after a timeout, say) gets back to work: it is asked
    to wake up, acknowledges, and is handed tasks again.
    """
    worker = WorkerSession(manager.client)
    await worker.start()
    await worker.state_changed("error")
    await worker.schedule(expect=409)
    await request_status(manager, worker, "awake", is_lazy=False)
    reply = await worker.schedule(expect=423)
    assert reply.json() == {"status_requested": "awake"}
    await worker.state_changed("awake")
    await worker.schedule(expect=204)


async def test_may_i_run_checks_the_task_first(manager: RunningManager) -> None:
    """Upstream's MayWorkerRun: an unknown task, then a pending request, then ownership."""
    client = manager.client
    worker = WorkerSession(client)
    other = WorkerSession(client, name="other")
    for each in (worker, other):
        await each.start()
    await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    assert await other.may_i_run(task["uuid"]) == {
        "mayKeepRunning": False,
        "reason": "task not assigned to this worker",
        "statusChangeRequested": False,
    }
    await request_status(manager, worker, "asleep", is_lazy=False)
    assert await worker.may_i_run(str(uuid.uuid4())) == {
        "mayKeepRunning": False,
        "reason": "Task not found",
        "statusChangeRequested": False,
    }
    assert (await worker.may_i_run(task["uuid"]))["statusChangeRequested"] is True


async def test_worker_address_follows_proxy_headers(manager: RunningManager) -> None:
    """Upstream records echo's RealIP: X-Forwarded-For's first hop, X-Real-IP, else the peer."""
    client = manager.client
    worker = WorkerSession(client)
    registered = (
        await client.post(
            "/api/v3/worker/register-worker",
            json_body={
                "name": worker.name,
                "platform": "linux",
                "secret": worker.secret,
                "supported_task_types": ["misc"],
            },
            headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
            expect=200,
        )
    ).json()
    assert registered["address"] == "203.0.113.7"
    worker.uuid = registered["uuid"]
    await client.post(
        "/api/v3/worker/sign-on",
        json_body={
            "name": worker.name,
            "supported_task_types": [" MISC "],
            "software_version": "3",
        },
        headers={"X-Real-IP": "198.51.100.2"},
        auth=worker.auth,
        expect=200,
    )
    details = (await client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)).json()
    assert details["ip_address"] == "198.51.100.2"
    # As upstream's sign-on, task types are trimmed and lower-cased.
    assert details["supported_task_types"] == ["misc"]
