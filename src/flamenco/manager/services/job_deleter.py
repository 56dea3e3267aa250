"""Deleting jobs in the background: their files, Shaman checkout, and database rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.persistence import Database, errors, jobs
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job
from flamenco.manager.services.local_storage import LocalStorage
from flamenco.manager.services.task_logs import TaskLogs

logger = logging.getLogger(__name__)

# Deletion requests that were not queued (say, after a restart) are found by this scan.
SCAN_INTERVAL_SECONDS = 60.0
# A job's tasks go this many per transaction (~25 ms each), so that deleting a job
# of 50,000 tasks does not hold up every other write for a second.
TASKS_DELETED_PER_TRANSACTION = 1000

CheckoutEraser = Callable[[str], Awaitable[None]]


class JobDeleter:
    def __init__(
        self,
        *,
        db: Database,
        storage: LocalStorage,
        broker: Broker,
        task_logs: TaskLogs,
        erase_checkout: CheckoutEraser | None = None,
    ) -> None:
        self._db = db
        self._storage = storage
        self._broker = broker
        self._task_logs = task_logs
        self._erase_checkout = erase_checkout
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def would_erase_checkout(self, job: Job) -> bool:
        return self._erase_checkout is not None and bool(job.shaman_checkout_id)

    def _on_event(self, event: Event) -> None:
        # Deletion is requested through any Manager process; the one running the
        # deleter hears of it from the job's update.
        if event.kind == EventKind.JOB_UPDATE and "delete_requested_at" in event.payload:
            self._queue.put_nowait(str(event.payload["id"]))  # type: ignore[typeddict-item]

    async def run(self) -> None:
        self._broker.subscribe(self._on_event)
        try:
            await self._run()
        finally:
            self._broker.unsubscribe(self._on_event)

    async def _run(self) -> None:
        while True:
            for job in await self._db.read(jobs.fetch_jobs_to_delete):
                await self.delete(job.uuid)
            try:
                async with asyncio.timeout(SCAN_INTERVAL_SECONDS):
                    job_uuid = await self._queue.get()
            except TimeoutError:
                continue
            await self.delete(job_uuid)
            while not self._queue.empty():
                await self.delete(self._queue.get_nowait())

    async def _delete_rows(self, job_id: int) -> None:
        """The job's tasks in batches, then the job with what is left (cascading)."""

        def delete_batch(conn: Connection) -> int:
            return jobs.delete_tasks_of_job(conn, job_id, TASKS_DELETED_PER_TRANSACTION)

        while await self._db.write(delete_batch) == TASKS_DELETED_PER_TRANSACTION:
            pass
        await self._db.write(lambda conn: jobs.delete_job(conn, job_id))

    async def delete(self, job_uuid: str) -> None:
        """Delete a job whose deletion was requested; anything else is left alone."""
        try:
            job = await self._db.read(lambda conn: jobs.fetch_job(conn, job_uuid))
        except errors.JobNotFound:
            return  # Deleted already, for example by an earlier scan.
        if job.delete_requested_at is None:
            logger.warning("not deleting job without deletion request", extra={"job": job_uuid})
            return
        try:
            if self.would_erase_checkout(job):
                assert self._erase_checkout is not None
                await self._erase_checkout(job.shaman_checkout_id)
            # Log lines still queued would otherwise bring the job's folder back.
            await self._task_logs.flush()
            await asyncio.to_thread(self._storage.remove_job_dir_blocking, job.uuid)
            await self._delete_rows(job.id)
        except (OSError, errors.PersistenceError):
            logger.exception("error deleting job, will retry later", extra={"job": job_uuid})
            return
        logger.info("job deleted", extra={"job": job_uuid, "job_name": job.name})
        self._broker.publish(events.job_deleted(job))
