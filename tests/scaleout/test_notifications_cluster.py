"""With several Manager processes, each notification is delivered once, by the leading process."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from support.cluster import Cluster, running_cluster, sigkill
from support.jobs import job_status, submit_echo_sleep
from support.spec_client import SpecCheckedClient
from support.waiting import until
from support.webhook_receiver import WebhookReceiver, running_receiver
from support.worker_session import WorkerSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

JOBS = 4


async def complete_job(submitter: SpecCheckedClient, worker: WorkerSession, name: str) -> str:
    job = await submit_echo_sleep(submitter, name=name, repeats=1)
    for _ in range(2):
        await worker.complete(await worker.next_task())
    assert await job_status(submitter, job["id"]) == "completed"
    return str(job["id"])


def delivering(cluster: Cluster) -> list[str]:
    return [
        process.base_url
        for process in cluster.processes
        if process.process is not None and "notification delivered" in process.log()
    ]


async def test_only_the_leader_delivers_and_its_successor_carries_on(tmp_path: Path) -> None:
    async with running_receiver(WebhookReceiver()) as receiver:
        settings = {"webhooks": [{"url": receiver.url}], "poll_interval": "200ms"}
        async with (
            running_cluster(tmp_path, 3, notifications=json.dumps(settings)) as cluster,
            aiohttp.ClientSession() as session,
        ):
            leader = await cluster.wait_for_one_leader()
            others = [process for process in cluster.processes if process is not leader]
            clients = [SpecCheckedClient(session, p.base_url) for p in cluster.processes]
            # The Worker talks to a process that does not deliver: the event is recorded
            # there and sent by the leader.
            worker = WorkerSession(SpecCheckedClient(session, others[0].base_url))
            await worker.start()
            job_ids = [
                await complete_job(clients[number % 3], worker, f"job {number}")
                for number in range(JOBS)
            ]
            await until(lambda: len(receiver.accepted) == JOBS, timeout=20)
            delivered = [request.json()["job"]["id"] for request in receiver.accepted]
            assert sorted(delivered) == sorted(job_ids)
            deliveries = {request.headers["X-Flamenco-Delivery"] for request in receiver.accepted}
            assert len(deliveries) == JOBS
            # The receiver answers before the leader logs that it delivered.
            await until(lambda: delivering(cluster) == [leader.base_url], timeout=10)

            sigkill(leader)
            successor = await cluster.wait_for_one_leader()
            last = await complete_job(
                SpecCheckedClient(session, others[1].base_url), worker, "after the crash"
            )
            await until(lambda: len(receiver.accepted) == JOBS + 1, timeout=20)
            assert receiver.accepted[-1].json()["job"]["id"] == last
            await until(lambda: delivering(cluster) == [successor.base_url], timeout=10)
