"""Events published to a real Mosquitto broker, under upstream's topics."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from conftest import ConfigMaker
from flamenco.manager.config import MQTTClientConfig
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.eventbus.mqtt import (
    QUEUE_SIZE,
    BrokerAddressInvalid,
    MQTTForwarder,
    broker_address,
)
from support.jobs import submit_echo_sleep
from support.manager import run_manager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(executable).exists():
        pytest.fail("mosquitto is not installed (Debian package mosquitto)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
    process = subprocess.Popen([executable, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait()


async def test_events_reach_the_broker(make_manager_config: ConfigMaker, mosquitto: int) -> None:
    loaded = make_manager_config(
        mqtt={
            "client": {
                "enabled": True,
                "broker": f"tcp://127.0.0.1:{mosquitto}",
                "topic_prefix": "farm",
            }
        }
    )
    async with aiomqtt.Client("127.0.0.1", mosquitto, identifier="test-listener") as listener:
        await listener.subscribe("farm/#", qos=1)
        async for running in run_manager(loaded):
            await running.client.post(
                "/api/v3/worker-mgt/tags", json_body={"name": "gpu"}, expect=200
            )
            job = await submit_echo_sleep(running.client)
            received: dict[str, dict] = {}  # type: ignore[type-arg]
            async with asyncio.timeout(10):
                async for message in listener.messages:
                    payload = json.loads(message.payload)  # type: ignore[arg-type]
                    received[str(message.topic)] = payload
                    if "farm/jobs" in received and "farm/workertags" in received:
                        break
            assert received["farm/workertags"]["tag"]["name"] == "gpu"
            assert received["farm/jobs"]["id"] == job["id"]


async def test_task_logs_are_not_sent_and_the_queue_is_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker()
    forwarder = MQTTForwarder(broker, MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:9"))
    running = asyncio.create_task(forwarder.run())
    await asyncio.sleep(0)
    broker.publish(Event("/tasklog/x", EventKind.TASK_LOG_UPDATE, {"task_id": "x", "log": "a"}))
    for number in range(QUEUE_SIZE + 500):
        broker.publish(Event("/jobs", EventKind.JOB_UPDATE, {"id": str(number)}))
    assert forwarder._queue.qsize() == QUEUE_SIZE
    # A burst that does not fit is reported once, and counted when there is room again.
    assert caplog.text.count("MQTT queue full") == 1
    forwarder._queue.get_nowait()
    broker.publish(Event("/jobs", EventKind.JOB_UPDATE, {"id": "later"}))
    assert "500 events were dropped" in caplog.text
    assert forwarder._queue.qsize() == QUEUE_SIZE
    running.cancel()


async def test_a_forwarder_that_does_not_run_queues_nothing() -> None:
    # With several Manager processes, only the one that leads the farm forwards.
    broker = Broker()
    forwarder = MQTTForwarder(broker, MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:9"))
    broker.publish(Event("/jobs", EventKind.JOB_UPDATE, {"id": "1"}))  # type: ignore[typeddict-item]
    assert forwarder._queue.qsize() == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://broker:1884", ("broker", 1884, "tcp")),
        ("mqtt://broker", ("broker", 1883, "tcp")),
        ("broker.local:1999", ("broker.local", 1999, "tcp")),
        ("ws://broker:9001/mqtt", ("broker", 9001, "websockets")),
    ],
)
def test_broker_address(url: str, expected: tuple[str, int, str]) -> None:
    assert broker_address(url) == expected


@pytest.mark.parametrize("url", ["", "https://broker", "tcp://"])
def test_bad_broker_address(url: str) -> None:
    with pytest.raises(BrokerAddressInvalid):
        broker_address(url)
