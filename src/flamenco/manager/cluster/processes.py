"""`flamenco-manager --processes N`: N Manager processes on one port, kept running.

Each child is an ordinary Manager that binds the port with SO_REUSEPORT, so the
kernel spreads connections over them. The supervisor restarts a child that
dies, stops them all on SIGINT or SIGTERM, and restarts them all when one asks
for a restart with a new configuration (a save in the web interface), so that
they never run with different settings.

The children keep their metrics in files in one directory (prometheus-client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR), so that whichever child answers
GET /metrics reports the whole farm's Manager; the supervisor makes it, marks
the files of dead children, and removes it at the end.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

from flamenco.manager.metrics.recorder import MULTIPROCESS_DIRECTORY_VARIABLE

logger = logging.getLogger(__name__)

# The exit code with which a child asks the supervisor to restart every child.
EXIT_RESTART_ALL = 75
# A child that dies sooner than this after its start is restarted only after a
# pause, so that a broken setup does not spin.
QUICK_DEATH_SECONDS = 10.0
RESTART_PAUSE_SECONDS = 5.0
STOP_GRACE_SECONDS = 15.0


def run_supervisor(count: int, child_args: Sequence[str]) -> int:
    """Run `count` Managers with `child_args` until asked to stop; the exit code."""
    with _metrics_directory() as directory:
        return _supervise(count, child_args, directory)


@contextmanager
def _metrics_directory() -> Iterator[str]:
    """The directory for the children's metrics: PROMETHEUS_MULTIPROC_DIR when the
    administrator set it (emptied of an earlier run's files), else a temporary one."""
    given = os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield given
        return
    directory = tempfile.mkdtemp(prefix="flamenco-manager-metrics-")
    os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = directory
    try:
        yield directory
    finally:
        del os.environ[MULTIPROCESS_DIRECTORY_VARIABLE]
        shutil.rmtree(directory, ignore_errors=True)


def _supervise(count: int, child_args: Sequence[str], metrics_directory: str) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    command = [sys.executable, "-m", "flamenco.manager", *child_args, "--reuse-port"]
    children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}

    def start(number: int) -> None:
        children[number] = (subprocess.Popen(command), time.monotonic())
        logger.info("started Manager process %d of %d", number + 1, count)

    for number in range(count):
        start(number)
    try:
        while not stopping:
            time.sleep(0.2)
            restart_all = False
            for number, (child, started) in list(children.items()):
                code = child.poll()
                if code is None:
                    continue
                # Its live gauges (Socket.IO clients) go; its counters keep counting.
                multiprocess.mark_process_dead(child.pid, metrics_directory)  # type: ignore[no-untyped-call]
                if code == EXIT_RESTART_ALL:
                    restart_all = True
                    continue
                logger.error(
                    "Manager process %d ended with exit code %d, starting it again",
                    number + 1,
                    code,
                )
                if time.monotonic() - started < QUICK_DEATH_SECONDS:
                    time.sleep(RESTART_PAUSE_SECONDS)
                if not stopping:
                    start(number)
            if restart_all and not stopping:
                logger.info("restarting every Manager process with the new configuration")
                _stop_all(children)
                for child, _ in children.values():
                    multiprocess.mark_process_dead(child.pid, metrics_directory)  # type: ignore[no-untyped-call]
                for number in range(count):
                    start(number)
    finally:
        _stop_all(children)
    return 0


def _stop_all(children: dict[int, tuple[subprocess.Popen[bytes], float]]) -> None:
    for child, _ in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child, _ in children.values():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
