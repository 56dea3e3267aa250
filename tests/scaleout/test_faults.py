"""Several Manager processes through a killed process, a restarted PostgreSQL, a lost Redis."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
import pytest

from support.cluster import PrivatePostgres, PrivateRedis, running_cluster, sigkill
from support.jobs import blender_render_job, submit_echo_sleep
from support.socketio_listener import Listener
from support.spec_client import SpecCheckedClient
from support.waiting import until
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_workers_carry_on_through_the_others_when_one_process_is_killed(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, 3) as cluster, aiohttp.ClientSession() as session:
        alive = list(cluster.urls)
        job_client = SpecCheckedClient(session, alive[0])
        job = (
            await job_client.post(
                "/api/v3/jobs",
                json_body=blender_render_job(name="many small tasks", frames="1-299", chunk_size=1),
                expect=200,
            )
        ).json()
        acknowledged: set[str] = set()
        done = asyncio.Event()

        async def as_a_worker(number: int) -> None:
            # A load balancer sends each request to a live process.
            worker = WorkerSession(
                SpecCheckedClient(session, alive[number % len(alive)]),
                name=f"w{number}",
                task_types=("blender", "ffmpeg"),
            )
            await worker.start()
            while not done.is_set():
                worker.client = SpecCheckedClient(session, random.choice(alive))
                try:
                    reply = await worker.schedule()
                    if reply.status != 200:
                        await asyncio.sleep(0.1)
                        continue
                    task = reply.json()
                    await worker.update(task["uuid"], expect=None, taskStatus="completed")
                    acknowledged.add(task["uuid"])
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.1)  # The process went away mid-request.

        async def kill_one_midway() -> None:
            while len(acknowledged) < 60:
                await asyncio.sleep(0.05)
            victim = cluster.processes[0]
            alive.remove(victim.base_url)
            sigkill(victim)

        async def until_completed() -> None:
            client = SpecCheckedClient(session, cluster.urls[2])
            while (await client.get(f"/api/v3/jobs/{job['id']}")).json()["status"] != "completed":
                await asyncio.sleep(0.5)
            done.set()

        await asyncio.wait_for(
            asyncio.gather(
                kill_one_midway(), until_completed(), *(as_a_worker(n) for n in range(20))
            ),
            timeout=240,
        )
        tasks = (
            await SpecCheckedClient(session, cluster.urls[1]).get(
                f"/api/v3/jobs/{job['id']}/tasks", expect=200
            )
        ).json()["tasks"]
    completed = {task["id"] for task in tasks if task["status"] == "completed"}
    assert len(tasks) == 300
    assert acknowledged <= completed
    assert completed == {task["id"] for task in tasks}


async def test_a_restarted_postgresql_means_503_meanwhile_and_service_after(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    async with (
        running_cluster(tmp_path, 2, database=private_postgres.url) as cluster,
        aiohttp.ClientSession() as session,
    ):
        clients = [SpecCheckedClient(session, url) for url in cluster.urls]
        await submit_echo_sleep(clients[0], repeats=1)
        private_postgres.stop()
        for client in clients:
            reply = await client.get("/api/v3/jobs")
            assert reply.status == 503
            assert reply.headers.get("Retry-After")
            assert "database" in reply.json()["message"].lower()
        await asyncio.sleep(3)  # Background services meet the outage too.
        private_postgres.start()

        async def serving_again() -> bool:
            replies = [await client.get("/api/v3/jobs") for client in clients]
            return all(reply.status == 200 for reply in replies)

        await until(serving_again)
        for client in clients:
            assert len((await client.get("/api/v3/jobs", expect=200)).json()["jobs"]) == 1
        assert all(
            process.process and process.process.poll() is None for process in cluster.processes
        )
        # One process still leads the farm's duties, or takes the lead again.
        await cluster.wait_for_one_leader(timeout=15)


async def test_without_redis_the_api_works_and_live_events_come_back_with_it(
    tmp_path: Path,
) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        async with (
            running_cluster(tmp_path, 2, redis_url=redis.url) as cluster,
            aiohttp.ClientSession() as session,
        ):
            first, second = (SpecCheckedClient(session, url) for url in cluster.urls)
            listener = Listener(batched=True)
            await listener.connect(cluster.urls[0])
            try:
                assert await listener.subscribe("allJobs") == "ok"
                before = await submit_echo_sleep(second, name="before", repeats=1)
                await listener.wait_for("/jobs", lambda p: p["id"] == before["id"])

                redis.stop()
                for number in range(20):
                    await submit_echo_sleep(second, name=f"while away {number}", repeats=1)
                assert len((await first.get("/api/v3/jobs", expect=200)).json()["jobs"]) == 21

                redis.start()

                async def relayed_again() -> bool:
                    job = await submit_echo_sleep(second, name="after", repeats=1)
                    await asyncio.sleep(0.5)
                    return any(p["id"] == job["id"] for p in listener.received.get("/jobs", []))

                await until(relayed_again, timeout=30)
            finally:
                await listener.client.disconnect()
            for process in cluster.processes:
                log = process.log()
                assert log.count("live events between Manager processes are interrupted") == 1
                assert "live events between Manager processes resumed" in log
    finally:
        redis.stop()
