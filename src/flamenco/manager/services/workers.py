"""Workers as the Manager knows them: registration, sign-on and -off, status requests, tags."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flamenco.api.enums import WorkerStatus
from flamenco.clock import Clock
from flamenco.manager.errors import RequestRefused
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker, Event, EventKind
from flamenco.manager.persistence import Database, errors, workers
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Task, Worker, WorkerTag
from flamenco.manager.services import worker_secrets
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

# Statuses that a Worker signing off is sent back to when it signs on again.
REMEMBERED_STATUSES = (WorkerStatus.AWAKE, WorkerStatus.ASLEEP)
# Requests that a sign-off fulfils.
OFFLINE_STATUSES = (WorkerStatus.OFFLINE, WorkerStatus.RESTART)


class WorkerStatusChangeRefused(RequestRefused):
    """The Worker cannot go to the requested status."""

    status = 412


class WorkerTagConflict(RequestRefused):
    """Another worker tag already has this name or ID."""

    status = 409


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDetails:
    worker: Worker
    tags: list[WorkerTag]
    task: Task | None


# Decides the status a Worker should go to when it signs on without a pending request.
InitialStatusPolicy = Callable[[Connection, Worker], WorkerStatus]


def always_awake(conn: Connection, worker: Worker) -> WorkerStatus:
    return WorkerStatus.AWAKE


class WorkerService:
    def __init__(
        self,
        *,
        db: Database,
        broker: Broker,
        state_machine: StateMachine,
        clock: Clock,
        initial_status: InitialStatusPolicy = always_awake,
    ) -> None:
        self._db = db
        self._broker = broker
        self._state_machine = state_machine
        self._clock = clock
        self._initial_status = initial_status
        self._verified = worker_secrets.VerifiedSecrets()
        # Deletions in other Manager processes reach this one as events.
        broker.subscribe(self._on_event)

    # Authentication.

    async def authenticate(self, worker_uuid: str, secret: str) -> bool:
        """Whether the UUID and secret belong to a Worker that is not deleted."""
        if self._verified.matches(worker_uuid, secret):
            return True
        generation = self._verified.generation
        try:
            worker = await self._db.read(lambda conn: workers.fetch_worker(conn, worker_uuid))
        except errors.WorkerNotFound:
            return False
        matches = await asyncio.to_thread(worker_secrets.secret_matches, secret, worker.secret_hash)
        if matches:
            self._verified.remember(worker_uuid, secret, checked_in=generation)
        return matches

    def forget_credentials(self, worker_uuid: str) -> None:
        """The Worker's next request has its secret checked against the database again."""
        self._verified.forget(worker_uuid)

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.WORKER_UPDATE and "deleted_at" in event.payload:
            self.forget_credentials(str(event.payload.get("id")))

    # The Worker's own calls.

    async def register(
        self, *, secret: str, name: str, platform: str, task_types: list[str], address: str
    ) -> Worker:
        secret_hash = await asyncio.to_thread(worker_secrets.hash_secret, secret)
        now = self._clock.now()
        worker = await self._db.write(
            lambda conn: workers.insert_worker(
                conn,
                uuid=str(uuid.uuid4()),
                secret_hash=secret_hash,
                name=name,
                address=address,
                platform=platform,
                supported_task_types=task_types,
                now=now,
            )
        )
        logger.info("worker registered", extra={"worker": worker.uuid, "worker_name": name})
        return worker

    async def sign_on(
        self,
        worker_uuid: str,
        *,
        name: str,
        task_types: list[str],
        software: str,
        can_restart: bool,
        address: str,
    ) -> WorkerStatus:
        """Record the Worker's details; return the status it should go to."""
        now = self._clock.now()

        def transaction(conn: Connection) -> tuple[Worker, WorkerStatus, WorkerStatus]:
            worker = workers.fetch_worker(conn, worker_uuid)
            workers.save_sign_on(
                conn,
                worker.id,
                name=name,
                address=address,
                software=software,
                supported_task_types=task_types,
                can_restart=can_restart,
                status=WorkerStatus.STARTING,
                now=now,
            )
            updated = workers.fetch_worker_by_id(conn, worker.id)
            initial = updated.status_requested or self._initial_status(conn, updated)
            return updated, worker.status, initial

        worker, previous, initial = await self._db.write(transaction)
        logger.info("worker signed on", extra={"worker": worker_uuid, "initial_status": initial})
        self._broker.publish(events.worker_updated(worker, previous_status=previous))
        return initial

    async def sign_off(self, worker_uuid: str) -> None:
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> tuple[Worker, WorkerStatus]:
            worker = workers.fetch_worker(conn, worker_uuid)
            workers.save_status(conn, worker.id, WorkerStatus.OFFLINE, now)
            workers.mark_seen(conn, worker.id, now)
            requested = worker.status_requested
            if requested in OFFLINE_STATUSES:
                # Signing off fulfils the request, which leaves nothing pending.
                requested = None
            if requested is None and worker.status in REMEMBERED_STATUSES:
                # Come back in the same status on the next sign-on.
                requested = worker.status
            if requested != worker.status_requested:
                workers.save_status_request(conn, worker.id, requested, False, now)
            self._state_machine.apply_requeue_worker_tasks(
                conn, changes, worker, "worker signed off", now
            )
            return workers.fetch_worker_by_id(conn, worker.id), worker.status

        worker, previous = await self._db.write(transaction)
        self._state_machine.publish(changes)
        logger.info("worker signed off", extra={"worker": worker_uuid})
        self._broker.publish(events.worker_updated(worker, previous_status=previous))

    async def pending_status_request(self, worker_uuid: str) -> WorkerStatus | None:
        now = self._clock.now()

        def transaction(conn: Connection) -> WorkerStatus | None:
            worker = workers.fetch_worker(conn, worker_uuid)
            workers.mark_seen(conn, worker.id, now)
            return worker.status_requested

        return await self._db.write(transaction)

    async def status_changed(self, worker_uuid: str, status: WorkerStatus) -> None:
        """The Worker reports it went to a new status, usually acknowledging a request."""
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> tuple[Worker, WorkerStatus]:
            worker = workers.fetch_worker(conn, worker_uuid)
            workers.save_status(conn, worker.id, status, now)
            workers.mark_seen(conn, worker.id, now)
            self._state_machine.outbox.worker_status_changed(
                conn, worker, status, now, detail="reported by the Worker"
            )
            if worker.status_requested is not None and worker.status_requested != status:
                logger.warning(
                    "worker changed to status that was not requested",
                    extra={"worker": worker_uuid, "status": status},
                )
            else:
                workers.save_status_request(conn, worker.id, None, False, now)
            if worker.status == WorkerStatus.AWAKE and status != WorkerStatus.AWAKE:
                reason = f"worker {worker.name} ({worker.uuid}) changed status to '{status}'"
                self._state_machine.apply_requeue_worker_tasks(conn, changes, worker, reason, now)
            return workers.fetch_worker_by_id(conn, worker.id), worker.status

        worker, previous = await self._db.write(transaction)
        self._state_machine.publish(changes)
        self._broker.publish(events.worker_updated(worker, previous_status=previous))

    # Management from the web interface.

    async def fetch_workers(self) -> list[Worker]:
        return await self._db.read(workers.fetch_workers)

    async def fetch_worker(self, worker_uuid: str) -> WorkerDetails:
        def transaction(conn: Connection) -> WorkerDetails:
            worker = workers.fetch_worker(conn, worker_uuid)
            return WorkerDetails(
                worker=worker,
                tags=workers.fetch_tags_of_worker(conn, worker.id),
                task=workers.fetch_last_task(conn, worker.id),
            )

        return await self._db.read(transaction)

    async def delete(self, worker_uuid: str) -> None:
        """Soft-delete the Worker; its active tasks go back to the queue."""
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> Worker:
            worker = workers.fetch_worker(conn, worker_uuid)
            self._state_machine.apply_requeue_worker_tasks(
                conn, changes, worker, "worker is being deleted", now
            )
            workers.soft_delete(conn, worker.id, now)
            return workers.fetch_worker_by_id(conn, worker.id)

        worker = await self._db.write(transaction)
        # Only now: a check that read the Worker before the deletion committed must
        # not find its result cached (see VerifiedSecrets).
        self.forget_credentials(worker_uuid)
        self._state_machine.publish(changes)
        logger.info("worker deleted", extra={"worker": worker_uuid})
        self._broker.publish(events.worker_updated(worker))

    async def request_status_change(
        self, worker_uuid: str, status: WorkerStatus, *, is_lazy: bool
    ) -> None:
        now = self._clock.now()

        def transaction(conn: Connection) -> Worker:
            worker = workers.fetch_worker(conn, worker_uuid)
            if status == WorkerStatus.RESTART and not worker.can_restart:
                raise WorkerStatusChangeRefused(
                    f"worker {worker_uuid} does not know how to restart"
                )
            if status == worker.status:
                # Asking for the current status cancels an earlier request.
                workers.save_status_request(conn, worker.id, None, False, now)
            else:
                workers.save_status_request(conn, worker.id, status, is_lazy, now)
            return workers.fetch_worker_by_id(conn, worker.id)

        worker = await self._db.write(transaction)
        logger.info(
            "worker status change requested",
            extra={"worker": worker_uuid, "status": status, "lazy": is_lazy},
        )
        self._broker.publish(events.worker_updated(worker))

    async def set_tags(self, worker_uuid: str, tag_uuids: list[str]) -> None:
        def transaction(conn: Connection) -> Worker:
            worker = workers.fetch_worker(conn, worker_uuid)
            workers.set_tags_of_worker(conn, worker.id, tag_uuids)
            return worker

        worker = await self._db.write(transaction)
        self._broker.publish(events.worker_updated(worker))

    # Worker tags.

    async def fetch_tags(self) -> list[WorkerTag]:
        return await self._db.read(workers.fetch_tags)

    async def fetch_tag(self, tag_uuid: str) -> WorkerTag:
        return await self._db.read(lambda conn: workers.fetch_tag(conn, tag_uuid))

    async def create_tag(self, *, name: str, description: str, tag_uuid: str = "") -> WorkerTag:
        now = self._clock.now()

        def transaction(conn: Connection) -> WorkerTag:
            try:
                return workers.insert_tag(
                    conn,
                    uuid=tag_uuid or str(uuid.uuid4()),
                    name=name,
                    description=description,
                    now=now,
                )
            except errors.UniqueViolation:
                raise WorkerTagConflict(
                    f"a worker tag with name {name!r} or ID {tag_uuid!r} already exists"
                ) from None

        tag = await self._db.write(transaction)
        self._broker.publish(events.worker_tag_updated(tag))
        return tag

    async def update_tag(self, tag_uuid: str, *, name: str, description: str | None) -> None:
        now = self._clock.now()

        def transaction(conn: Connection) -> WorkerTag:
            tag = workers.fetch_tag(conn, tag_uuid)
            new_description = tag.description if description is None else description
            try:
                workers.save_tag(conn, tag.id, name=name, description=new_description, now=now)
            except errors.UniqueViolation:
                raise WorkerTagConflict(f"a worker tag named {name!r} already exists") from None
            return workers.fetch_tag(conn, tag_uuid)

        tag = await self._db.write(transaction)
        self._broker.publish(events.worker_tag_updated(tag))

    async def delete_tag(self, tag_uuid: str) -> None:
        def transaction(conn: Connection) -> WorkerTag:
            tag = workers.fetch_tag(conn, tag_uuid)
            workers.delete_tag(conn, tag.id)
            return tag

        tag = await self._db.write(transaction)
        self._broker.publish(events.worker_tag_updated(tag, was_deleted=True))
