"""A Manager and Workers in their own processes, for end-to-end tests that kill and restart them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

MANAGER_YAML = """\
_meta:
  version: 3
manager_name: End-to-end Farm
database: {database}
listen: 127.0.0.1:{port}
autodiscoverable: false
local_manager_storage_path: ./storage
shared_storage_path: {shared}
shaman:
  enabled: false
task_timeout: 10m0s
worker_timeout: 5m0s
blocklist_threshold: 3
task_fail_after_softfail_count: 3
variables:
  blender:
    values:
      - platform: all
        value: blender
  blenderArgs:
    values:
      - platform: all
        value: -b -y
"""


def manager_yaml(
    port: int, shared: Path, *, database: str = "flamenco-manager.sqlite", **settings: object
) -> str:
    """The end-to-end configuration; `settings` add or replace top-level keys."""
    text = MANAGER_YAML.format(port=port, shared=shared, database=database)
    for key, value in settings.items():
        text = _without_setting(text, key) + f"{key}: {value}\n"
    return text


def _without_setting(text: str, key: str) -> str:
    """`text` without the top-level `key` and the indented lines that belong to it."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            inside = True
            continue
        if inside and line.startswith((" ", "-")):
            continue
        inside = False
        kept.append(line)
    return "\n".join(kept) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url + "/api/v3/version") as response:
                    # 401: up, with access control on.
                    if response.status in (200, 401):
                        return
            except (aiohttp.ClientError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers at {url}")
            await asyncio.sleep(0.1)


class ManagerProcess:
    """`python -m flamenco.manager` in `directory`, on a fixed loopback port across restarts."""

    def __init__(
        self,
        directory: Path,
        shared_storage: Path,
        *,
        database: str = "flamenco-manager.sqlite",
        port: int | None = None,
        **settings: object,
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.config_path = directory / "flamenco-manager.yaml"
        self.log_path = directory / "manager.log"
        directory.mkdir(parents=True, exist_ok=True)
        shared_storage.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            manager_yaml(self.port, shared_storage, database=database, **settings), encoding="utf-8"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, open_file_limits: tuple[int, int] | None = None) -> None:
        """Start and wait until it answers; `open_file_limits` (soft, hard) as a service gets."""

        def limit_open_files() -> None:
            if open_file_limits is not None:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, open_file_limits)

        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flamenco.manager", "--config", str(self.config_path)],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=limit_open_files if open_file_limits is not None else None,
            )
        await wait_until_up(self.base_url)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, as in a crash or a power cut."""
        if self.process is not None:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
            self.process = None

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class WorkerProcess:
    """`python -m flamenco.worker` with its own working directory and FLAMENCO_HOME."""

    def __init__(self, directory: Path, manager_url: str, *, name: str = "e2e-worker") -> None:
        self.directory = directory
        self.manager_url = manager_url
        self.name = name
        self.home = directory / "home"
        self.log_path = directory / "worker.log"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "flamenco-worker.yaml").write_text(
            f"worker_name: {name}\nmanager_url: {manager_url}\n", encoding="utf-8"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra_args: str) -> None:
        env = {**os.environ, "FLAMENCO_HOME": str(self.home)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flamenco.worker", *extra_args],
                cwd=self.directory,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as systemd sends; returns the exit code."""
        assert self.process is not None
        if self.process.returncode is not None:
            return self.process.returncode
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def child_processes(pid: int) -> list[tuple[int, str]]:
    """Processes whose parent is `pid`, with their command lines (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The command name in parentheses may contain spaces; the parent pid follows it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append((int(entry.name), cmdline.strip()))
    return children
