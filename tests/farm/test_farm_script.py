"""The README's `./farm`: help, the configured port, a port held by someone else, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from support.manager_process import free_port

REPO = Path(__file__).resolve().parents[2]
FARM = REPO / "farm"

FARM_YAML = """\
_meta:
  version: 3
manager_name: Farm Script Test
database: flamenco-manager.sqlite
listen: 127.0.0.1:{port}
autodiscoverable: false
shared_storage_path: {shared}
"""


def farm_environment(data: Path) -> dict[str, str]:
    """./farm with its data in `data`, using the Python running these tests as it is."""
    return {**os.environ, "FLAMENCO_FARM_DIR": str(data), "FLAMENCO_FARM_PYTHON": sys.executable}


def session_processes(session: int) -> list[int]:
    """The processes of a session (Linux /proc): ./farm, its Manager, Worker and helpers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


class Farm:
    """A running `./farm`, in a session of its own so that nothing it started can outlive a test.

    With `terminal`, it runs in a pseudo-terminal of its own, as when a person starts it:
    Ctrl+C there goes to whichever process group holds the terminal.
    """

    def __init__(self, data: Path, *args: str, terminal: bool = False) -> None:
        self.data = data
        self.output_path = data.parent / f"{data.name}-farm-output.txt"
        self.terminal: int | None = None
        if not terminal:
            with self.output_path.open("ab") as output:
                self.process = subprocess.Popen(
                    ["bash", str(FARM), *args],
                    env=farm_environment(data),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            return
        self.output_path.touch()
        self.terminal, child_end = os.openpty()
        # setsid makes bash a session leader with this terminal as its controlling one;
        # not being a group leader itself, it execs bash rather than forking.
        self.process = subprocess.Popen(
            ["setsid", "--ctty", "bash", str(FARM), *args],
            env=farm_environment(data),
            stdin=child_end,
            stdout=child_end,
            stderr=child_end,
        )
        os.close(child_end)
        threading.Thread(target=self._copy_terminal_output, daemon=True).start()

    def _copy_terminal_output(self) -> None:
        assert self.terminal is not None
        with self.output_path.open("ab", buffering=0) as output:
            while True:
                try:
                    data = os.read(self.terminal, 65536)
                except OSError:
                    return  # the last process holding the terminal is gone
                if not data:
                    return
                output.write(data)

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    async def wait(self, timeout: float = 60.0) -> int:
        # Polled rather than waited for in a thread, which would outlive a timeout.
        deadline = time.monotonic() + timeout
        while (code := self.process.poll()) is None:
            assert time.monotonic() < deadline, f"./farm did not exit:\n{self.output()}"
            await asyncio.sleep(0.05)
        return code

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return await self.wait()

    async def press_ctrl_c(self) -> int:
        """Ctrl+C in its terminal; without one, SIGINT to its process group as a terminal would."""
        if self.terminal is not None:
            os.write(self.terminal, b"\x03")
        else:
            os.killpg(self.process.pid, signal.SIGINT)
        return await self.wait()

    def kill_leftovers(self) -> None:
        for pid in session_processes(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.terminal is not None:
            os.close(self.terminal)
            self.terminal = None


@pytest.fixture
def farms() -> Iterator[list[Farm]]:
    started: list[Farm] = []
    yield started
    for farm in started:
        farm.kill_leftovers()


def write_config(data: Path, port: int) -> Path:
    (data / "shared").mkdir(parents=True, exist_ok=True)
    path = data / "flamenco-manager.yaml"
    path.write_text(FARM_YAML.format(port=port, shared=data / "shared"), encoding="utf-8")
    return path


async def wait_for_awake_worker(farm: Farm, port: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            assert farm.process.poll() is None, f"./farm exited early:\n{farm.output()}"
            try:
                url = f"http://127.0.0.1:{port}/api/v3/worker-mgt/workers"
                async with session.get(url) as response:
                    workers = (await response.json())["workers"] if response.status == 200 else []
                    if workers and workers[0]["status"] == "awake":
                        worker: dict[str, Any] = workers[0]
                        return worker
            except (aiohttp.ClientError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no Worker woke up at port {port}:\n{farm.output()}")
            await asyncio.sleep(0.2)


# --- without starting anything


@pytest.fixture
def lone_script(tmp_path: Path) -> Path:
    """A copy of ./farm in an empty folder, where any setup it did would show."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    shutil.copy2(FARM, folder / "farm")
    return folder


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_explains_and_starts_nothing(lone_script: Path, flag: str) -> None:
    result = subprocess.run(
        ["bash", str(lone_script / "farm"), "--debug", flag],
        env={**os.environ, "FLAMENCO_FARM_DIR": str(lone_script / "data")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ./farm [--port N]")
    for promise in ("--port N", "flamenco-manager.yaml", "goes to the Manager", "Ctrl+C"):
        assert promise in result.stdout
    # No virtual environment, no data folder, no install.
    assert sorted(path.name for path in lone_script.iterdir()) == ["farm"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--port", "eighty"], '--port needs a port number from 1 to 65535, not "eighty"'),
        (["--port", "70000"], "--port needs a port number from 1 to 65535, not 70000"),
        (["--port"], "--port needs a port number"),
        (["--quiet"], "--quiet would hide"),
    ],
)
def test_bad_arguments_are_refused_before_any_setup(
    lone_script: Path, args: list[str], complaint: str
) -> None:
    result = subprocess.run(
        ["bash", str(lone_script / "farm"), *args],
        env={**os.environ, "FLAMENCO_FARM_DIR": str(lone_script / "data")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert complaint in result.stderr
    assert sorted(path.name for path in lone_script.iterdir()) == ["farm"]


# --- running the farm for real


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_the_worker_follows_the_configured_port_and_a_stop_exits_0(
    tmp_path: Path, farms: list[Farm]
) -> None:
    data = tmp_path / "farm-data"
    configured, requested = free_port(), free_port()
    config_path = write_config(data, configured)

    farm = Farm(data)
    farms.append(farm)
    worker = await wait_for_awake_worker(farm, configured)
    assert "listening on 127.0.0.1 port" in farm.output()
    assert f"starting a local Worker for http://127.0.0.1:{configured}/" in farm.output()
    assert await farm.stop(signal.SIGTERM) == 0
    assert session_processes(farm.process.pid) == []
    assert "farm: stopping the Worker, then the Manager" in farm.output()
    manager_log = (data / "manager.log").read_text(encoding="utf-8")
    # The Worker went first, and said goodbye to a Manager that was still there.
    assert manager_log.index("worker signed off") < manager_log.index("shutting down")

    # --port is written to the configuration (keeping the host), and later runs follow it.
    farm = Farm(data, "--port", str(requested))
    farms.append(farm)
    again = await wait_for_awake_worker(farm, requested)
    assert again["id"] == worker["id"]
    assert yaml.safe_load(config_path.read_text(encoding="utf-8"))["listen"] == (
        f"127.0.0.1:{requested}"
    )
    assert await farm.press_ctrl_c() == 0
    assert session_processes(farm.process.pid) == []

    farm = Farm(data)
    farms.append(farm)
    await wait_for_awake_worker(farm, requested)
    assert await farm.stop(signal.SIGTERM) == 0
    assert session_processes(farm.process.pid) == []


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "process-group"])
async def test_ctrl_c_while_the_manager_starts_stops_it_and_exits_0(
    tmp_path: Path, farms: list[Farm], terminal: bool
) -> None:
    data = tmp_path / "farm-data"
    write_config(data, free_port())
    farm = Farm(data, terminal=terminal)
    farms.append(farm)
    deadline = time.monotonic() + 60
    while "farm: starting the Manager" not in farm.output():
        assert time.monotonic() < deadline and farm.process.poll() is None, farm.output()
        await asyncio.sleep(0.02)
    assert await farm.press_ctrl_c() == 0, farm.output()
    assert "farm: stopping the Manager" in farm.output()
    assert "starting a local Worker" not in farm.output()
    assert session_processes(farm.process.pid) == []


@pytest.fixture
async def impostor() -> AsyncIterator[tuple[int, list[str]]]:
    """Another program on the port, which even answers like a Manager."""
    requests: list[str] = []

    async def version(request: web.Request) -> web.Response:
        requests.append(request.path)
        return web.json_response({"name": "Not Your Manager", "version": "3.9", "git": "x"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", version)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield port, requests
    await runner.cleanup()


def assert_port_taken_and_no_worker(farm: Farm, port: int, code: int) -> None:
    output = farm.output()
    assert code != 0, output
    assert f"farm: port {port} is already in use by another program" in output
    assert f"./farm --port {port + 1}" in output
    assert "starting a local Worker" not in output
    assert not (farm.data / "worker" / "worker.log").exists()
    assert session_processes(farm.process.pid) == []


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_program_answering_on_the_port_gets_no_worker(
    tmp_path: Path, farms: list[Farm], impostor: tuple[int, list[str]]
) -> None:
    port, requests = impostor
    data = tmp_path / "farm-data"
    write_config(data, port)
    farm = Farm(data)
    farms.append(farm)
    code = await farm.wait()
    assert_port_taken_and_no_worker(farm, port, code)
    assert requests == []


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_port_the_manager_cannot_bind_stops_the_farm(tmp_path: Path, farms: list[Farm]) -> None:
    data = tmp_path / "farm-data"
    # Bound but not listening: nothing answers, yet the Manager cannot have the port.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        write_config(data, port)
        farm = Farm(data)
        farms.append(farm)
        code = farm.process.wait(timeout=90)
    assert "address already in use" in farm.output()
    assert_port_taken_and_no_worker(farm, port, code)
