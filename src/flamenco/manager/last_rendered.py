"""Where a job's last-rendered images live, and which job rendered most recently."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from flamenco.manager.local_storage import LocalStorage
from flamenco.manager.persistence import Database
from flamenco.manager.persistence.queries import SQL

IMAGE_NAME = "last-rendered.jpg"
SMALL_IMAGE_NAME = "last-rendered-small.jpg"
TINY_IMAGE_NAME = "last-rendered-tiny.jpg"
SUFFIXES = (IMAGE_NAME, SMALL_IMAGE_NAME, TINY_IMAGE_NAME)


class LastRendered:
    def __init__(self, *, db: Database, storage: LocalStorage) -> None:
        self._db = db
        self._storage = storage

    async def info_for_job(self, job_uuid: str) -> dict[str, Any] | None:
        """The spec's JobLastRenderedImageInfo, or None when the job has no image yet."""
        tiny = self._storage.job_dir(job_uuid) / TINY_IMAGE_NAME
        if not await asyncio.to_thread(tiny.exists):
            return None
        return {
            "base": self._storage.url_for(self._storage.job_dir_relative(job_uuid)),
            "suffixes": list(SUFFIXES),
        }

    async def info_latest(self) -> dict[str, Any] | None:
        job_uuid = await self._db.read(_latest_job_uuid)
        return None if job_uuid is None else await self.info_for_job(job_uuid)


def _latest_job_uuid(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(SQL["fetch_last_rendered_job"]).fetchone()
    return None if row is None else str(row[0])
