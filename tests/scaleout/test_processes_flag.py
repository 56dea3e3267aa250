"""`flamenco-manager --processes N`: N processes on one port, kept running, stopped together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from support.cluster import REDIS_URL
from support.manager_process import child_processes, free_port, manager_yaml, wait_until_up
from support.postgresql import fresh_schema
from support.waiting import until


def _write_config(directory: Path, **settings: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "flamenco-manager.yaml"
    port = free_port()
    path.write_text(manager_yaml(port, directory / "shared", **settings), encoding="utf-8")
    return path


def _run(config: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_several_processes_need_postgresql(tmp_path: Path) -> None:
    result = _run(_write_config(tmp_path), "--processes", "2")
    assert result.returncode == 2
    assert "PostgreSQL" in result.stderr and "SQLite allows one writing process" in result.stderr


def test_several_processes_need_redis(tmp_path: Path) -> None:
    with fresh_schema() as url:
        result = _run(_write_config(tmp_path, database=url), "--processes", "2")
    assert result.returncode == 2
    assert "redis_url" in result.stderr


def test_processes_must_be_a_positive_number(tmp_path: Path) -> None:
    result = _run(_write_config(tmp_path), "--processes", "0")
    assert result.returncode == 2
    assert "--processes must be 1 or more" in result.stderr


def _managers(supervisor: subprocess.Popen[bytes]) -> list[int]:
    return [
        pid for pid, command in child_processes(supervisor.pid) if "flamenco.manager" in command
    ]


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_processes_share_one_port_come_back_after_a_crash_and_stop_together(
    tmp_path: Path,
) -> None:
    with fresh_schema() as url:
        config = _write_config(tmp_path, database=url, redis_url=REDIS_URL)
        port = int(config.read_text().split("listen: 127.0.0.1:")[1].split()[0])
        base_url = f"http://127.0.0.1:{port}"
        log = (tmp_path / "supervisor.log").open("wb")
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "flamenco.manager", "--config", str(config), "--processes", "3"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await until(lambda: len(_managers(supervisor)) == 3)
            await wait_until_up(base_url)
            # Connections spread over the processes; every one of them answers.
            async with aiohttp.ClientSession() as session:
                for _ in range(30):
                    async with session.get(base_url + "/api/v3/version") as response:
                        assert response.status == 200

            crashed = _managers(supervisor)[0]
            os.kill(crashed, signal.SIGKILL)
            await until(
                lambda: len(_managers(supervisor)) == 3 and crashed not in _managers(supervisor)
            )
            await wait_until_up(base_url)

            children = _managers(supervisor)
            supervisor.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(asyncio.to_thread(supervisor.wait), 30)
            assert code == 0
            assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait()
            log.close()
        text = (tmp_path / "supervisor.log").read_text()
        assert "ended with exit code -9, starting it again" in text
