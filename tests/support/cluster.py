"""Several Manager processes on one PostgreSQL and Redis, and servers of their own to break."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from support.manager_process import ManagerProcess, free_port
from support.postgresql import fresh_schema

REDIS_URL = os.environ.get("FLAMENCO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Debian's PostgreSQL server programs, of whichever version is installed.
POSTGRESQL_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin")
)


class Cluster:
    """Manager processes of one farm, each on its own port so tests can pick one."""

    def __init__(self, processes: list[ManagerProcess]) -> None:
        self.processes = processes

    @property
    def urls(self) -> list[str]:
        return [process.base_url for process in self.processes]

    def leaders(self) -> list[ManagerProcess]:
        """Processes whose log says they took the farm's duties and have not lost them since."""
        leading = []
        for process in self.processes:
            if process.process is None:
                continue
            log = process.log()
            took = log.rfind("now runs the farm's duties")
            lost = log.rfind("lost the lead of the farm's duties")
            if took > lost:
                leading.append(process)
        return leading

    async def wait_for_one_leader(self, timeout: float = 15.0) -> ManagerProcess:
        deadline = time.monotonic() + timeout
        while True:
            leaders = self.leaders()
            if len(leaders) == 1:
                return leaders[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected one leading process, found {len(leaders)}")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def running_cluster(
    directory: Path,
    count: int,
    *,
    database: str | None = None,
    redis_url: str = REDIS_URL,
    **settings: object,
) -> AsyncIterator[Cluster]:
    """`count` Managers sharing a fresh PostgreSQL schema (or `database`) and Redis."""
    async with _database(database) as url:
        shared = directory / "shared"
        processes = [
            ManagerProcess(
                directory / f"manager-{number}",
                shared,
                database=url,
                redis_url=redis_url,
                # Every process writes task logs and images to the same storage.
                local_manager_storage_path=str(directory / "storage"),
                **settings,
            )
            for number in range(count)
        ]
        try:
            await asyncio.gather(*(process.start() for process in processes))
            yield Cluster(processes)
        finally:
            for process in processes:
                if process.process is not None:
                    await process.stop()


@asynccontextmanager
async def _database(database: str | None) -> AsyncIterator[str]:
    if database is not None:
        yield database
        return
    with fresh_schema() as url:
        yield url


class PrivateRedis:
    """A redis-server of the test's own, on a free port, to stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary folder), to restart.

    PostgreSQL refuses to run as root, so when the tests do, it runs as the
    `postgres` account that Debian's package creates.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="flamenco-pg-"))
        self.port = free_port()
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run(
            str(POSTGRESQL_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            str(POSTGRESQL_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l",
            str(self.directory / "server.log"), "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(POSTGRESQL_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sigkill(process: ManagerProcess) -> None:
    assert process.process is not None
    os.kill(process.process.pid, signal.SIGKILL)
    process.process.wait()
    process.process = None
