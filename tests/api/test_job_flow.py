"""Jobs from submission to the end, with this test acting as Workers over HTTP."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from flamenco.manager import keys
from support.jobs import blender_render_job, job_status, submit_echo_sleep, tasks_by_name
from support.manager import RunningManager
from support.worker_session import WorkerSession


async def test_echo_sleep_job_runs_to_completion(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=2)
    assert job["status"] == "queued"
    assert job["steps_total"] == 3
    listed = (await client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()["tasks"]
    assert [task["name"] for task in listed] == ["echo", "sleep", "sleep"]

    first = await worker.next_task()
    assert first["name"] == "echo"
    assert first["status"] == "active"
    assert first["job"] == job["id"]
    assert first["commands"][0]["name"] == "echo"
    # The sleep tasks depend on the echo task, so nothing else is runnable yet.
    other = WorkerSession(client, name="other")
    await other.start()
    await other.schedule(expect=204)

    assert await job_status(client, job["id"]) == "active"
    await worker.complete(first)
    for _ in range(2):
        task = await worker.next_task()
        assert task["name"].startswith("sleep")
        await worker.complete(task)
    await worker.schedule(expect=204)

    final = (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
    assert final["status"] == "completed"
    assert final["steps_completed"] == final["steps_total"] == 3


async def test_task_log_tail_and_file(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.update(task["uuid"], log="line one\nline two\n")

    tail = await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)
    assert "line two" in tail.text
    assert f"Task assigned to worker {worker.name} ({worker.uuid})" in tail.text
    assert "task changed status queued -> active" in tail.text

    info = (await client.get(f"/api/v3/tasks/{task['uuid']}/log", expect=200)).json()
    assert info["job_id"] == job["id"]
    assert info["url"] == f"/job-files/job-{job['id'][:4]}/{job['id']}/task-{task['uuid']}.txt"
    full = await client.get(info["url"], expect=200)
    assert len(full.body) == info["size"]
    assert b"line one" in full.body


async def test_task_without_log_answers_204(manager: RunningManager) -> None:
    job = await submit_echo_sleep(manager.client, repeats=1)
    tasks = await tasks_by_name(manager.client, job["id"])
    echo = tasks["echo"]
    await manager.client.get(f"/api/v3/tasks/{echo['id']}/logtail", expect=204)
    await manager.client.get(f"/api/v3/tasks/{echo['id']}/log", expect=204)


async def test_failure_soft_then_hard_then_requeue(manager: RunningManager) -> None:
    client = manager.client
    workers = [WorkerSession(client, name=f"worker-{n}") for n in range(4)]
    for worker in workers:
        await worker.start()
    job = await submit_echo_sleep(client, repeats=1)

    for number, worker in enumerate(workers[:3], start=1):
        task = await worker.next_task()
        assert task["name"] == "echo"
        await worker.update(task["uuid"], taskStatus="active", activity="Started")
        await worker.update(
            task["uuid"], taskStatus="failed", activity="Failed: boom", log="boom\n"
        )
        details = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
        assert {w["id"] for w in details["failed_by_workers"]} == {w.uuid for w in workers[:number]}
        if number < 3:
            assert details["status"] == "soft-failed"
            # A Worker that failed a task does not get it again.
            await worker.schedule(expect=204)
        else:
            assert details["status"] == "failed"

    tail = (await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
    assert "Task failed by 1 worker, Manager will mark it as soft failure. 2 more failures" in tail
    assert "Task failed by 3 workers, Manager will mark it as hard failure" in tail
    # One failed task out of two is over 10 %, so the job failed and the rest was cancelled.
    assert await job_status(client, job["id"]) == "failed"
    tasks = await tasks_by_name(client, job["id"])
    assert tasks["sleep"]["status"] == "canceled"

    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "try again"},
        expect=204,
    )
    assert await job_status(client, job["id"]) == "queued"
    details = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
    assert details["status"] == "queued"
    assert "failed_by_workers" not in details
    # The failure list was cleared, so the first Worker may try again.
    again = await workers[0].next_task()
    assert again["uuid"] == task["uuid"]


async def test_job_fails_when_no_worker_is_left(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.update(task["uuid"], taskStatus="failed", activity="Failed")
    assert await job_status(client, job["id"]) == "failed"
    tail = (await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
    assert "no more workers left for tasks of type" in tail


async def test_pause_waits_for_active_task_then_resumes(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=2)
    task = await worker.next_task()
    await worker.update(task["uuid"], taskStatus="active", activity="Started")

    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "pause-requested", "reason": "lunch"},
        expect=204,
    )
    assert await job_status(client, job["id"]) == "pause-requested"
    tasks = await tasks_by_name(client, job["id"])
    assert tasks["sleep"]["status"] == "paused"
    # The running task may finish.
    assert (await worker.may_i_run(task["uuid"]))["mayKeepRunning"] is True
    await worker.update(task["uuid"], taskStatus="completed", activity="Completed")
    assert await job_status(client, job["id"]) == "paused"
    await worker.schedule(expect=204)

    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "back to work"},
        expect=204,
    )
    assert await job_status(client, job["id"]) == "queued"
    tasks = await tasks_by_name(client, job["id"])
    assert tasks["echo"]["status"] == "completed"
    resumed = await worker.next_task()
    assert resumed["name"] == "sleep"


async def test_cancel_stops_running_task(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=3)
    task = await worker.next_task()
    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "cancel-requested", "reason": "wrong scene"},
        expect=204,
    )
    answer = await worker.may_i_run(task["uuid"])
    assert answer == {
        "mayKeepRunning": False,
        "reason": 'task is in non-runnable status "canceled"',
        "statusChangeRequested": False,
    }
    assert await job_status(client, job["id"]) == "canceled"
    tasks = (await client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()["tasks"]
    assert {t["status"] for t in tasks} == {"canceled"}
    final = (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
    assert final["activity"].startswith('Changed to status "canceled"')


async def test_task_requeue_from_ui_on_completed_job(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    for _ in range(2):
        await worker.complete(await worker.next_task())
    assert await job_status(client, job["id"]) == "completed"
    tasks = await tasks_by_name(client, job["id"])
    await client.post(
        f"/api/v3/tasks/{tasks['sleep']['id']}/setstatus",
        json_body={"status": "queued", "reason": "render it again"},
        expect=204,
    )
    # Requeueing a task of a completed job requeues the whole job, as upstream.
    assert await job_status(client, job["id"]) == "queued"
    statuses = {t["status"] for t in (await tasks_by_name(client, job["id"])).values()}
    assert statuses == {"queued"}
    details = (await client.get(f"/api/v3/tasks/{tasks['sleep']['id']}", expect=200)).json()
    assert details["activity"] != ""


async def test_steps_completed_is_clamped(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.update(task["uuid"], steps_completed=50)
    details = (await client.get(f"/api/v3/tasks/{task['uuid']}", expect=200)).json()
    assert details["steps_completed"] == details["steps_total"] == 1
    assert (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()[
        "steps_completed"
    ] == 1


async def test_updates_from_other_worker_are_refused(manager: RunningManager) -> None:
    client = manager.client
    owner = WorkerSession(client, name="owner")
    intruder = WorkerSession(client, name="intruder")
    await owner.start()
    await intruder.start()
    await submit_echo_sleep(client, repeats=1)
    task = await owner.next_task()
    reply = await intruder.update(task["uuid"], expect=409, activity="mine now")
    assert "not assigned to you" in reply.json()["message"]
    await owner.update(task["uuid"], expect=400, taskStatus="soft-failed")


async def test_blender_render_job_expands_variables_and_orders_video_last(
    manager: RunningManager,
) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = (await client.post("/api/v3/jobs", json_body=blender_render_job(), expect=200)).json()
    tasks = await tasks_by_name(client, job["id"])
    assert set(tasks) == {"render-1-3", "render-4-6", "render-7-9", "render-10", "preview-video"}

    rendered = []
    for _ in range(4):
        task = await worker.next_task()
        assert task["task_type"] == "blender"
        command = task["commands"][0]
        assert command["name"] == "blender-render"
        # {blender} and {blenderArgs} were expanded for this Worker's platform.
        assert command["parameters"]["exe"] == "blender"
        assert command["parameters"]["exeArgs"] == "-b -y"
        rendered.append(task["name"])
        await worker.complete(task)
    assert rendered == ["render-1-3", "render-4-6", "render-7-9", "render-10"]
    video = await worker.next_task()
    assert video["name"] == "preview-video"
    assert video["commands"][0]["name"] == "frames-to-video"
    await worker.complete(video)
    assert await job_status(client, job["id"]) == "completed"


async def test_job_deletion_removes_job_and_files(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    task = await worker.next_task()
    await worker.update(task["uuid"], log="some output\n")
    info = (await client.get(f"/api/v3/tasks/{task['uuid']}/log", expect=200)).json()
    what = (await client.get(f"/api/v3/jobs/{job['id']}/what-would-delete-do", expect=200)).json()
    assert what == {"shaman_checkout": False}

    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)
    for _ in range(100):
        reply = await client.get(f"/api/v3/jobs/{job['id']}")
        if reply.status == 404:
            break
        assert reply.json()["delete_requested_at"]
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("job was not deleted")
    await client.get(info["url"], expect=404)
    await client.get(f"/api/v3/tasks/{task['uuid']}", expect=404)


async def test_deletion_waits_for_queued_log_lines_of_the_job(
    manager: RunningManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Log lines still on their way to the disk must not bring a deleted job's folder back."""
    task_logs = manager.app[keys.TASK_LOGS]
    job = await submit_echo_sleep(manager.client, repeats=1)
    tasks = (await manager.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
    job_dir = task_logs.path(job["id"], tasks["tasks"][0]["id"]).parent

    # Hold the log writer, as a slow disk would, while a Manager log line is queued.
    disk_free = threading.Event()
    write_batch = task_logs._append_batch_blocking

    def slow_write_batch(batch: Any) -> None:
        disk_free.wait(10)
        write_batch(batch)

    monkeypatch.setattr(task_logs, "_append_batch_blocking", slow_write_batch)
    task_logs.append_timestamped(job["id"], tasks["tasks"][0]["id"], "queued line")
    await manager.client.delete(f"/api/v3/jobs/{job['id']}", expect=204)
    await asyncio.sleep(0.3)  # Time enough for the deleter, were it not waiting.
    disk_free.set()
    for _ in range(100):
        if (await manager.client.get(f"/api/v3/jobs/{job['id']}")).status == 404:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("job was not deleted")
    await task_logs.flush()
    assert not job_dir.exists()


async def test_mass_deletion(manager: RunningManager) -> None:
    client = manager.client
    job = await submit_echo_sleep(client, repeats=1)
    await client.request(
        "DELETE",
        "/api/v3/jobs/mass-delete",
        json_body={"last_updated_max": "2000-01-01T00:00:00Z"},
        expect=416,
    )
    await client.request(
        "DELETE",
        "/api/v3/jobs/mass-delete",
        json_body={"last_updated_max": job["updated"]},
        expect=204,
    )
    reply = await client.get(f"/api/v3/jobs/{job['id']}")
    assert reply.status == 404 or reply.json()["delete_requested_at"]


async def test_priority_and_tag_changes(manager: RunningManager) -> None:
    client = manager.client
    job = await submit_echo_sleep(client, repeats=1)
    await client.post(
        f"/api/v3/jobs/{job['id']}/setpriority", json_body={"priority": 80}, expect=204
    )
    tag = (
        await client.post("/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200)
    ).json()
    await client.post(f"/api/v3/jobs/{job['id']}/settag", json_body={"id": tag["id"]}, expect=204)
    updated = (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()
    assert updated["priority"] == 80
    assert updated["worker_tag"] == tag["id"]
    await client.post(f"/api/v3/jobs/{job['id']}/settag", json_body={"name": "nope"}, expect=422)
    await client.post(f"/api/v3/jobs/{job['id']}/settag", json_body={}, expect=204)
    assert "worker_tag" not in (await client.get(f"/api/v3/jobs/{job['id']}", expect=200)).json()


async def test_submission_with_stale_etag_is_412(manager: RunningManager) -> None:
    client = manager.client
    types = (await client.get("/api/v3/jobs/types", expect=200)).json()["job_types"]
    echo = next(t for t in types if t["name"] == "echo-sleep-test")
    job = {
        "name": "etag",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi"},
    }
    await client.post(
        "/api/v3/jobs/check", json_body={**job, "type_etag": echo["etag"]}, expect=204
    )
    await client.post("/api/v3/jobs/check", json_body={**job, "type_etag": "stale"}, expect=412)
    await client.post("/api/v3/jobs", json_body={**job, "type_etag": "stale"}, expect=412)


async def test_unknown_job_type_is_refused(manager: RunningManager) -> None:
    job = {"name": "x", "type": "no-such-type", "priority": 50, "submitter_platform": "linux"}
    await manager.client.post("/api/v3/jobs", json_body=job, expect=400)
    await manager.client.get("/api/v3/jobs/type/no-such-type", expect=404)


async def test_submitted_paused_job_waits(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1, initial_status="paused")
    assert job["status"] == "paused"
    await worker.schedule(expect=204)
    job_body = {
        "name": "done already",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi"},
        "initial_status": "completed",
    }
    reply = await client.post("/api/v3/jobs", json_body=job_body, expect=400)
    assert "initial_status" in reply.json()["message"]


async def test_senseless_status_requests_are_422(manager: RunningManager) -> None:
    client = manager.client
    job = await submit_echo_sleep(client, repeats=1)
    reply = await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "completed", "reason": "trust me"},
        expect=422,
    )
    assert "cannot be requested" in reply.json()["message"]
    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "already queued"},
        expect=422,
    )
    task_id = (await tasks_by_name(client, job["id"]))["echo"]["id"]
    await client.post(
        f"/api/v3/tasks/{task_id}/setstatus",
        json_body={"status": "active", "reason": "pretend"},
        expect=422,
    )
    assert await job_status(client, job["id"]) == "queued"


async def test_big_job_is_cancelled_and_requeued_in_batches(manager: RunningManager) -> None:
    client = manager.client
    job = (
        await client.post(
            "/api/v3/jobs", json_body=blender_render_job(frames="1-1234", chunk_size=1), expect=200
        )
    ).json()
    for status, task_status in (("cancel-requested", "canceled"), ("requeueing", "queued")):
        await client.post(
            f"/api/v3/jobs/{job['id']}/setstatus",
            json_body={"status": status, "reason": "batch test"},
            expect=204,
        )
        tasks = (await client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()["tasks"]
        assert len(tasks) == 1235
        assert {task["status"] for task in tasks} == {task_status}
    assert await job_status(client, job["id"]) == "queued"
