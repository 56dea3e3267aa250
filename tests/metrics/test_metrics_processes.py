"""GET /metrics of `flamenco-manager --processes N`: whichever process answers, the same farm."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from conftest import ConfigMaker
from support.cluster import REDIS_URL, PrivatePostgres
from support.manager import run_manager
from support.manager_process import child_processes, free_port, manager_yaml, wait_until_up
from support.metrics import Scrape, parse_scrape
from support.postgresql import fresh_schema
from support.spec_client import SpecCheckedClient
from support.waiting import until

pytestmark = pytest.mark.slow

MANAGER = (sys.executable, "-m", "flamenco.manager")
PROCESSES = 2
REQUESTS = 24


def _managers(supervisor: subprocess.Popen[bytes]) -> list[int]:
    return [
        pid for pid, command in child_processes(supervisor.pid) if "flamenco.manager" in command
    ]


def _metrics_directory(pid: int) -> Path:
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    for entry in environment:
        if entry.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
            return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError(f"Manager process {pid} has no PROMETHEUS_MULTIPROC_DIR")


async def _get(base_url: str, path: str) -> aiohttp.ClientResponse:
    # A connection of its own each time, so that the kernel spreads them over the processes.
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(base_url + path) as response,
    ):
        await response.read()
        return response


async def _scrape(base_url: str) -> Scrape:
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(base_url + "/metrics") as response,
    ):
        assert response.status == 200
        return parse_scrape(await response.text())


@pytest.mark.timeout(120)
async def test_every_process_reports_the_whole_farm(tmp_path: Path) -> None:
    with fresh_schema() as url:
        port = free_port()
        config = tmp_path / "flamenco-manager.yaml"
        config.write_text(
            manager_yaml(port, tmp_path / "shared", database=url, redis_url=REDIS_URL),
            encoding="utf-8",
        )
        base_url = f"http://127.0.0.1:{port}"
        environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        log = (tmp_path / "supervisor.log").open("wb")
        supervisor = subprocess.Popen(
            [*MANAGER, "--config", str(config), "--processes", str(PROCESSES)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        made: list[Path] = []
        try:
            await until(lambda: len(_managers(supervisor)) == PROCESSES)
            await wait_until_up(base_url)
            directory = _metrics_directory(_managers(supervisor)[0])
            made.append(directory)
            requests = "flamenco_http_request_duration_seconds_count"

            async def every_process_answered() -> bool:
                # Each process keeps its own counts, in a file of its own.
                assert (await _get(base_url, "/api/v3/version")).status == 200
                return len(list(directory.glob("histogram_*.db"))) == PROCESSES

            # (The last to start may still be on its way to listening.)
            await until(every_process_answered, timeout=30, interval=0.01)
            before = (await _scrape(base_url)).total(requests, operation="getVersion")
            for _ in range(REQUESTS):
                assert (await _get(base_url, "/api/v3/version")).status == 200

            # Every scrape, whichever process answers it, sums them all, and
            # reports the farm's counts once.
            job = {
                "name": "metrics job",
                "type": "echo-sleep-test",
                "priority": 50,
                "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 2},
            }
            async with (
                aiohttp.ClientSession() as session,
                session.post(base_url + "/api/v3/jobs", json=job) as response,
            ):
                assert response.status == 200, await response.text()
            for _ in range(2 * PROCESSES + 4):
                metrics = await _scrape(base_url)
                assert metrics.value(requests, operation="getVersion") == before + REQUESTS
                assert metrics.value("flamenco_tasks", status="queued") == 3
                assert metrics.value("flamenco_jobs", status="queued") == 1

            # A process that dies takes its live values along, not its counts.
            os.kill(_managers(supervisor)[0], signal.SIGKILL)
            # (No wait_until_up here: it would ask for the version once more. The
            # surviving process answers meanwhile.)
            await until(lambda: len(_managers(supervisor)) == PROCESSES, timeout=30)
            for _ in range(2 * PROCESSES):
                metrics = await _scrape(base_url)
                assert metrics.value(requests, operation="getVersion") == before + REQUESTS

            supervisor.send_signal(signal.SIGTERM)
            assert await until_exited(supervisor) == 0
            # The supervisor made the directory, so it cleans it up.
            assert not directory.exists()
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait()
                for directory in made:  # Killed, the supervisor cleaned up nothing.
                    shutil.rmtree(directory, ignore_errors=True)
            log.close()


async def until_exited(process: subprocess.Popen[bytes]) -> int:
    await until(lambda: process.poll() is not None, timeout=30)
    code = process.poll()
    assert code is not None
    return code


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # Replaced by its own server.
async def test_a_database_outage_fails_the_scrape_with_503(
    make_manager_config: ConfigMaker, private_postgres: PrivatePostgres
) -> None:
    async for running in run_manager(make_manager_config(database=private_postgres.url)):
        client = running.client
        await client.get("/metrics", expect=200)
        private_postgres.stop()
        reply = await client.get("/metrics", expect=503)
        assert "database" in reply.json()["message"]
        assert reply.headers["Retry-After"]
        private_postgres.start()

        await until(functools.partial(_scrapes, client), timeout=20)


async def _scrapes(client: SpecCheckedClient) -> bool:
    return (await client.get("/metrics")).status == 200
