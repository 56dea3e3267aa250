"""Several Manager processes serve one farm: PostgreSQL for the data, Redis for live events."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import aiohttp
import pytest

from flamenco.worker.client import WORK_NOTICES_PATH
from support.cluster import Cluster, running_cluster, sigkill
from support.jobs import submit_echo_sleep
from support.socketio_listener import Listener
from support.spec_client import SpecCheckedClient, basic_auth_header
from support.waiting import until
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def clients(session: aiohttp.ClientSession, cluster: Cluster) -> list[SpecCheckedClient]:
    return [SpecCheckedClient(session, url) for url in cluster.urls]


async def test_a_browser_on_one_process_sees_what_happens_through_another(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, 2) as cluster, aiohttp.ClientSession() as session:
        on_first, on_second = clients(session, cluster)
        listener = Listener(batched=True)
        await listener.connect(cluster.urls[0])
        try:
            assert await listener.subscribe("allJobs") == "ok"
            job = await submit_echo_sleep(on_second, repeats=1)
            created = await listener.wait_for("/jobs", lambda p: p["id"] == job["id"])
            assert created["status"] == "queued"

            # Deletion asked of either process reaches the one that runs the deleter.
            await on_first.delete(f"/api/v3/jobs/{job['id']}", expect=204)
            await listener.wait_for("/jobs", lambda p: p.get("was_deleted") is True)
            for client in (on_first, on_second):
                await client.get(f"/api/v3/jobs/{job['id']}", expect=404)
        finally:
            await listener.client.disconnect()


async def test_the_farms_duties_move_to_another_process_when_theirs_is_killed(
    tmp_path: Path,
) -> None:
    async with (
        running_cluster(tmp_path, 3, worker_timeout="3s") as cluster,
        aiohttp.ClientSession() as session,
    ):
        leader = await cluster.wait_for_one_leader()
        sigkill(leader)
        survivors = [process for process in cluster.processes if process is not leader]
        started = time.monotonic()
        successor = await cluster.wait_for_one_leader(timeout=10)
        assert successor in survivors
        assert time.monotonic() - started < 10

        # The new leader's timeout checker notices a Worker that goes silent.
        client = SpecCheckedClient(session, survivors[0].base_url)
        worker = WorkerSession(client)
        await worker.start()

        async def timed_out() -> bool:
            reply = await client.get(f"/api/v3/worker-mgt/workers/{worker.uuid}", expect=200)
            return bool(reply.json()["status"] == "error")

        await until(timed_out, timeout=20)


async def test_log_lines_sent_to_alternating_processes_end_up_in_one_log_in_order(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, 2) as cluster, aiohttp.ClientSession() as session:
        on_first, on_second = clients(session, cluster)
        worker = WorkerSession(on_first)
        await worker.start()
        await submit_echo_sleep(on_second, repeats=1)
        task = await worker.next_task()
        listener = Listener(batched=True)
        await listener.connect(cluster.urls[1])
        try:
            assert await listener.subscribe("tasklog", task["uuid"]) == "ok"
            lines = [f"line {number}\n" for number in range(40)]
            for number, line in enumerate(lines):
                worker.client = (on_first, on_second)[number % 2]
                await worker.update(task["uuid"], log=line)
            for client in (on_first, on_second):
                tail = (await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)).text
                assert [line for line in tail.splitlines() if line.startswith("line")][-5:] == [
                    line.rstrip("\n") for line in lines[-5:]
                ]
            log_path = next((tmp_path / "storage").rglob(f"task-{task['uuid']}.txt"))
            written = [
                line for line in log_path.read_text().splitlines() if line.startswith("line")
            ]
            assert written == [line.rstrip("\n") for line in lines]

            # Followers of the task's log on either process hear every line. Lines that
            # reached another process come through Redis a moment later, so the live
            # view may show neighbours swapped; the log itself is in order.
            def heard() -> set[str]:
                text = "".join(p["log"] for p in listener.received.get("/tasklog", []))
                return {line for line in text.splitlines() if line.startswith("line")}

            async def heard_all() -> bool:
                return heard() == {line.rstrip("\n") for line in lines}

            await until(heard_all)
        finally:
            await listener.client.disconnect()


async def test_the_same_file_sent_to_two_processes_at_once_is_stored_once(
    tmp_path: Path,
) -> None:
    shaman_on = "\n  enabled: true\n  garbageCollect:\n    period: 24h0m0s\n    maxAge: 744h0m0s"
    async with (
        running_cluster(tmp_path, 2, shaman=shaman_on) as cluster,
        aiohttp.ClientSession() as session,
    ):
        data = hashlib.sha256(b"blend file").digest() * 30_000  # 960 kB
        sha = hashlib.sha256(data).hexdigest()
        url = f"/api/v3/shaman/files/{sha}/{len(data)}"
        replies = await asyncio.gather(
            *(
                SpecCheckedClient(session, base).post(
                    url, data=data, headers={"Content-Type": "application/octet-stream"}
                )
                for base in cluster.urls
            )
        )
        assert sorted(reply.status for reply in replies) in ([204, 204], [204, 208])
        store = tmp_path / "shared" / "file-store"
        stored = [path for path in (store / "stored").rglob("*.blob")]
        assert stored == [store / "stored" / sha[:2] / sha[2:] / f"{len(data)}.blob"]
        assert stored[0].read_bytes() == data
        assert not [path for path in (store / "uploading").rglob("*") if path.is_file()]


async def test_a_worker_waiting_on_one_process_hears_of_a_job_submitted_to_another(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, 2) as cluster, aiohttp.ClientSession() as session:
        on_first, on_second = clients(session, cluster)
        worker = WorkerSession(on_first)
        await worker.start()
        socket = await session.ws_connect(
            cluster.urls[0] + WORK_NOTICES_PATH,
            headers={"Authorization": basic_auth_header(*worker.auth)},
        )
        try:
            await socket.send_json({"type": "waiting"})
            await asyncio.sleep(0.5)  # Let the Manager take in "waiting" first.
            await submit_echo_sleep(on_second, repeats=1)
            notice = await socket.receive_json(timeout=10)
            assert notice == {"type": "work-available"}
            assert (await worker.schedule()).status == 200
        finally:
            await socket.close()
