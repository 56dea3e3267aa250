"""A real Prometheus server scrapes the Manager, and answers queries about the farm."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flamenco.manager import config
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.manager_process import free_port
from support.metrics import dashboard_expressions
from support.worker_session import WorkerSession

pytestmark = [
    pytest.mark.slow,
    # Debian's `prometheus` package (installed by .ci/run); in CI it must be there.
    pytest.mark.skipif(
        shutil.which("prometheus") is None and not os.environ.get("CI"),
        reason="needs the prometheus server binary on the PATH (Debian package `prometheus`)",
    ),
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: flamenco
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{manager_port}"]
"""


@dataclass
class Prometheus:
    url: str
    log: Path

    async def query(self, session: aiohttp.ClientSession, expression: str) -> dict[str, float]:
        """The instant vector of `expression`, as {status label (or ""): value}."""
        answer = await self.answer(session, expression)
        return {
            item["metric"].get("status", ""): float(item["value"][1])
            for item in answer["data"]["result"]
        }

    async def answer(self, session: aiohttp.ClientSession, expression: str) -> dict[str, Any]:
        async with session.get(self.url + "/api/v1/query", params={"query": expression}) as reply:
            answer: dict[str, Any] = await reply.json()
        assert reply.status == 200 and answer["status"] == "success", (expression, answer)
        return answer

    async def wait_for(
        self, expression: str, expected: dict[str, float], timeout: float = 30.0
    ) -> None:
        """Until Prometheus answers `expected` (its last scrape showed it)."""
        last: dict[str, float] = {}
        async with aiohttp.ClientSession() as session:
            try:
                async with asyncio.timeout(timeout):
                    while last != expected:
                        await asyncio.sleep(0.25)
                        try:
                            last = await self.query(session, expression)
                        except aiohttp.ClientConnectionError:
                            continue  # Not listening yet.
            except TimeoutError:
                log = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise AssertionError(
                    f"Prometheus answered {last} for {expression}, not {expected}; its log:\n{log}"
                ) from None


@pytest.fixture
async def manager_on_port(manager_config: config.LoadedConfig) -> AsyncIterator[RunningManager]:
    async for running in run_manager(manager_config, port=free_port()):
        yield running


@pytest.fixture
def prometheus(tmp_path: Path, manager_on_port: RunningManager) -> Iterator[Prometheus]:
    executable = shutil.which("prometheus")
    assert executable is not None, "prometheus is not installed (apt-get install prometheus)"
    port = free_port()
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(
        PROMETHEUS_CONFIG.format(manager_port=manager_on_port.server.port), encoding="utf-8"
    )
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        # Our own server, not the package's service: its own config, data and port.
        process = subprocess.Popen(
            [
                executable,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Prometheus(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_prometheus_scrapes_the_farms_task_counts(
    manager_on_port: RunningManager, prometheus: Prometheus
) -> None:
    client = manager_on_port.client
    await submit_echo_sleep(client, repeats=2)
    await prometheus.wait_for('up{job="flamenco"}', {"": 1.0})
    await prometheus.wait_for('flamenco_tasks{status=~"queued|active"}', {"queued": 3, "active": 0})

    worker = WorkerSession(client)
    await worker.start()
    await worker.next_task()
    await prometheus.wait_for('flamenco_tasks{status=~"queued|active"}', {"queued": 2, "active": 1})
    await prometheus.wait_for("sum(flamenco_task_assignments_total)", {"": 1})


async def test_dashboard_queries_are_valid_promql(
    manager_on_port: RunningManager, prometheus: Prometheus
) -> None:
    await prometheus.wait_for('up{job="flamenco"}', {"": 1.0})
    async with aiohttp.ClientSession() as session:
        for expression in dashboard_expressions():
            # Grafana's own variable, which Prometheus does not know.
            await prometheus.answer(session, expression.replace("$__rate_interval", "1m"))
