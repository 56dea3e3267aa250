"""Full disks: one log line when an episode starts and one when it ends, a farm alarm meanwhile."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from flamenco.api.enums import AlarmKind
from flamenco.manager.errors import DiskFull, is_disk_full
from flamenco.manager.services.farm_status import FarmStatusService

logger = logging.getLogger(__name__)

# While a disk is full, how often to look whether space came back.
PROBE_INTERVAL_SECONDS = 1.0
# What a probe writes: room for a few database pages, a log batch or a small upload.
PROBE_BYTES = 256 * 1024
PROBE_NAME = ".flamenco-space-probe"
# Where the Manager cannot look (a PostgreSQL server's disk), the episode ends
# once writes there have not failed for this long.
QUIET_SECONDS = 60.0


@dataclass
class _Episode:
    error: DiskFull
    last_failure: float


class DiskSpace:
    """Collects DiskFull from requests and background services, per place that is full.

    The writes themselves fail and answer 507; this only keeps the operator
    informed, without a log line per refused request, and ends each episode by
    itself once a probe write there succeeds again.
    """

    def __init__(self, farm_status: FarmStatusService) -> None:
        self._farm_status = farm_status
        self._full: dict[str, _Episode] = {}
        self._episode_started = asyncio.Event()

    @property
    def full_places(self) -> list[str]:
        return list(self._full)

    def report(self, error: DiskFull) -> None:
        """A write to `error.where` failed for want of space."""
        episode = self._full.get(error.where)
        if episode is not None:
            episode.last_failure = time.monotonic()
            return
        self._full[error.where] = _Episode(error, time.monotonic())
        logger.error(
            "DISK FULL: cannot write to %s; writes there are refused (HTTP 507) until space "
            "is freed, then the Manager carries on by itself",
            error.where,
            extra={"directory": str(error.directory) if error.directory else None},
        )
        self._update_alarm()
        self._episode_started.set()

    async def run(self) -> None:
        while True:
            await self._episode_started.wait()
            self._episode_started.clear()
            while self._full:
                await asyncio.sleep(PROBE_INTERVAL_SECONDS)
                for where, episode in list(self._full.items()):
                    if await self._has_room(episode):
                        del self._full[where]
                        logger.warning("disk space is back: %s can be written again", where)
                        self._update_alarm()

    async def _has_room(self, episode: _Episode) -> bool:
        directory = episode.error.directory
        if directory is None:
            return time.monotonic() - episode.last_failure > QUIET_SECONDS
        return await asyncio.to_thread(_probe_blocking, directory)

    def _update_alarm(self) -> None:
        if not self._full:
            self._farm_status.clear_alarm(AlarmKind.DISK_FULL)
            return
        places = "; ".join(self._full)
        self._farm_status.raise_alarm(
            AlarmKind.DISK_FULL,
            f"The disk is full: cannot write to {places}. Job submissions, task updates and "
            "uploads that need it are refused until space is freed there; the Manager carries "
            "on by itself once there is room.",
        )


def _probe_blocking(directory: Path) -> bool:
    """Whether PROBE_BYTES can be written in `directory` now; the probe file is removed."""
    probe = directory / f"{PROBE_NAME}-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(bytes(PROBE_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        return True
    except OSError as error:
        # Another failure (the folder is gone, say) is not for this alarm to report.
        return not is_disk_full(error)
    finally:
        probe.unlink(missing_ok=True)
