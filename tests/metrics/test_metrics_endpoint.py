"""GET /metrics: the farm's counts, the Manager's measurements, and Prometheus' conventions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conftest import ConfigMaker
from flamenco.manager import config, keys
from support.fakes import FakeClock
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.metrics import Scrape, scrape
from support.socketio_listener import Listener
from support.waiting import until
from support.worker_session import WorkerSession


@pytest.fixture
async def clocked_manager(
    manager_config: config.LoadedConfig, clock: FakeClock
) -> AsyncIterator[RunningManager]:
    async for running in run_manager(manager_config, clock=clock):
        yield running


async def test_farm_counts_follow_jobs_tasks_and_workers(manager: RunningManager) -> None:
    client = manager.client
    before = await scrape(client)
    # Every status is there from the start, so that none vanishes from a graph.
    assert before.value("flamenco_tasks", status="queued") == 0
    assert before.value("flamenco_jobs", status="completed") == 0
    assert before.value("flamenco_workers", status="awake") == 0
    for name in ("flamenco_jobs", "flamenco_tasks", "flamenco_workers"):
        assert before.types[name] == "gauge"

    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=2)
    task = await worker.next_task()
    counts = await scrape(client)
    assert counts.value("flamenco_jobs", status="active") == 1
    assert counts.value("flamenco_tasks", status="active") == 1
    assert counts.value("flamenco_tasks", status="queued") == 2
    assert counts.total("flamenco_tasks") == 3
    assert counts.value("flamenco_workers", status="awake") == 1

    await worker.complete(task)
    for _ in range(2):
        await worker.complete(await worker.next_task())
    done = await scrape(client)
    assert done.value("flamenco_tasks", status="completed") == 3
    assert done.value("flamenco_tasks", status="queued") == 0
    assert done.value("flamenco_jobs", status="completed") == 1
    assert done.value("flamenco_jobs", status="active") == 0

    await client.delete(f"/api/v3/jobs/{job['id']}", expect=204)

    async def deleted() -> bool:
        return (await scrape(client)).total("flamenco_tasks") == 0

    await until(deleted, timeout=10)


async def test_counters_count_updates_assignments_and_failures(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    await submit_echo_sleep(client, repeats=1)
    first = await worker.next_task()
    await worker.update(first["uuid"], taskStatus="active", activity="Started")
    await worker.update(first["uuid"], taskStatus="failed", activity="It broke")
    # Refused updates are not counted.
    await worker.update("d5e6a3e9-7c46-4b9a-a9a8-5b1f3c1c1c1c", expect=404, activity="nope")

    metrics = await scrape(client)
    assert metrics.types["flamenco_task_updates"] == "counter"
    assert metrics.value("flamenco_task_updates_total") == 2
    assert metrics.value("flamenco_task_assignments_total", task_type="misc") == 1
    assert metrics.value("flamenco_task_failures_total", task_type="misc") == 1
    # With no other Worker to try it, the task failed for good: a run that ended failed.
    duration = "flamenco_task_duration_seconds_count"
    assert metrics.value(duration, task_type="misc", status="failed") == 1


async def test_queue_wait_and_duration_by_task_type(
    clocked_manager: RunningManager, clock: FakeClock
) -> None:
    client = clocked_manager.client
    worker = WorkerSession(client)
    await worker.start()
    await submit_echo_sleep(client, repeats=1)
    # Each step stays under the Worker timeout (1 minute), which the clock also drives.
    clock.advance(30)
    echo = await worker.next_task()
    clock.advance(50)
    await worker.complete(echo)
    clock.advance(5)
    sleep = await worker.next_task()

    metrics = await scrape(client)
    wait = "flamenco_task_queue_wait_seconds"
    assert metrics.value(f"{wait}_count", task_type="misc") == 2
    # The echo task waited 30 s since its submission; the sleep task became runnable
    # when echo completed, but was queued all along: 85 s.
    assert metrics.value(f"{wait}_sum", task_type="misc") == 30 + 85
    duration = "flamenco_task_duration_seconds"
    assert metrics.value(f"{duration}_count", task_type="misc", status="completed") == 1
    assert metrics.value(f"{duration}_sum", task_type="misc", status="completed") == 50
    completed = {"task_type": "misc", "status": "completed"}
    assert metrics.value(f"{duration}_bucket", **completed, le="30.0") == 0
    assert metrics.value(f"{duration}_bucket", **completed, le="60.0") == 1
    assert sleep["status"] == "active"


async def test_requests_and_transactions_are_timed(manager: RunningManager) -> None:
    client = manager.client
    for _ in range(3):
        await client.get("/api/v3/version", expect=200)
    await client.get("/api/v3/jobs/not-a-uuid", expect=400)
    metrics = await scrape(client)
    requests = "flamenco_http_request_duration_seconds"
    assert metrics.types[requests] == "histogram"
    assert metrics.value(f"{requests}_count", operation="getVersion") == 3
    assert metrics.value(f"{requests}_count", operation="fetchJob") == 1
    assert metrics.value(f"{requests}_sum", operation="getVersion") > 0
    # Scrapes are not API operations: no label for them, nor for the web interface's files.
    await client.get("/flamenco-addon.zip", expect=200)
    again = await scrape(client)
    operations = {s.labels.get("operation") for s in again.samples if s.name.startswith(requests)}
    assert operations == {"getVersion", "fetchJob"}
    transactions = "flamenco_database_transaction_duration_seconds"
    assert again.value(f"{transactions}_count", kind="read") >= 2  # The scrapes' counts.
    await submit_echo_sleep(client)
    written = await scrape(client)
    assert written.value(f"{transactions}_count", kind="write") >= 1


async def test_socketio_clients_and_fanout_lag(manager: RunningManager) -> None:
    client = manager.client
    listener = Listener()
    await listener.connect(manager.base_url)
    try:
        await until(lambda: manager.app[keys.SOCKET_IO].server.eio.sockets)
        connected = await scrape(client)
        assert connected.value("flamenco_socketio_clients") == 1
        assert await listener.subscribe("allJobs") == "ok"
        await submit_echo_sleep(client)
        await listener.wait_for("/jobs")
        metrics = await scrape(client)
        assert metrics.value("flamenco_socketio_fanout_lag_seconds_count") >= 1
    finally:
        await listener.client.disconnect()
    await until(lambda: not manager.app[keys.SOCKET_IO].server.eio.sockets)
    gone = await scrape(client)
    assert gone.value("flamenco_socketio_clients") == 0


async def test_names_follow_prometheus_conventions(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    await submit_echo_sleep(client, repeats=1)
    await worker.complete(await worker.next_task())
    metrics = await scrape(client)
    check_conventions(metrics)


def check_conventions(metrics: Scrape) -> None:
    """One `flamenco_` prefix, base units, `_total` on counters, no IDs as labels."""
    forbidden_labels = {"job", "job_id", "task", "task_id", "worker", "worker_id", "uuid", "id"}
    for name, kind in metrics.types.items():
        assert name.startswith("flamenco_") and not name.startswith("flamenco_flamenco"), name
        assert not name.endswith(("_ms", "_milliseconds", "_minutes", "_bytes_total")), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name
    for sample in metrics.samples:
        if metrics.types.get(sample.name.removesuffix("_total")) == "counter":
            assert sample.name.endswith(("_total", "_created")), sample.name
        assert not forbidden_labels & set(sample.labels), sample


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_switched_off(make_manager_config: ConfigMaker) -> None:
    loaded = make_manager_config(metrics_enabled=False)
    async for running in run_manager(loaded):
        reply = await running.client.get("/metrics", expect=404)
        assert "metrics_enabled" in reply.json()["message"]
        assert running.app[keys.METRICS].enabled is False


async def test_queue_wait_counts_from_a_job_requeue(
    clocked_manager: RunningManager, clock: FakeClock
) -> None:
    """A whole job requeued at once starts its tasks' wait anew (a mass status change)."""
    client = clocked_manager.client
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client, repeats=1)
    await worker.complete(await worker.next_task())
    await worker.complete(await worker.next_task())
    clock.advance(40)
    await client.post(
        f"/api/v3/jobs/{job['id']}/setstatus",
        json_body={"status": "requeueing", "reason": "again"},
        expect=204,
    )
    before = await scrape(client)
    clock.advance(10)
    await worker.next_task()
    after = await scrape(client)
    wait = "flamenco_task_queue_wait_seconds"
    assert after.value(f"{wait}_count", task_type="misc") == 3
    assert (
        after.value(f"{wait}_sum", task_type="misc") - before.value(f"{wait}_sum", task_type="misc")
        == 10
    )
