"""Work notices: telling waiting Workers, over their notice sockets, that work may be waiting.

A forwarder like Socket.IO and MQTT: it only listens to the broker, so it works
the same whether an event was published in this process or relayed from
another one. It never looks into the scheduler; a notice is a hint, and the
Worker answers it by asking for a task as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, cast

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.eventbus.broker import Broker, Event, EventKind

logger = logging.getLogger(__name__)

# Statuses in which a job's tasks are handed out.
RUNNABLE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.ACTIVE})
# Statuses in which a task waits for a Worker.
WAITING_TASK_STATUSES = frozenset({TaskStatus.QUEUED, TaskStatus.SOFT_FAILED})

# What one notice costs the event loop (a small WebSocket frame, like a Socket.IO
# message), and the share of the loop that notices may take; the pause after a
# round grows with the notices it sent, so a thousand Workers cannot starve
# requests, and changes arriving during the pause share the next round.
EVENT_LOOP_SECONDS_PER_NOTICE = 50e-6
NOTICE_SHARE = 0.1
MIN_ROUND_INTERVAL = 0.05
MAX_ROUND_INTERVAL = 1.0
# Notices sent before requests get a turn of the event loop.
NOTICES_BETWEEN_YIELDS = 20
# How long shutdown waits for sockets to close.
CLOSE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Hint:
    """Who may have work now: everyone waiting, about `tasks` of them, and these Workers."""

    everyone: bool = False
    tasks: int = 0
    workers: frozenset[str] = frozenset()

    def merged(self, other: Hint) -> Hint:
        return Hint(
            everyone=self.everyone or other.everyone,
            tasks=self.tasks + other.tasks,
            workers=self.workers | other.workers,
        )


def hint_for(event: Event) -> Hint | None:
    """What an event says about work becoming runnable; None when it says nothing."""
    # Read as plain fields: the rules look at the same few keys of several kinds.
    payload = cast(dict[str, Any], event.payload)
    if event.kind == EventKind.WORK_AVAILABLE:
        workers = payload.get("workers")
        if isinstance(workers, list):
            return Hint(workers=frozenset(str(uuid) for uuid in workers))
        return Hint(everyone=True)
    if event.kind == EventKind.JOB_UPDATE:
        return _job_hint(payload)
    if event.kind == EventKind.TASK_UPDATE:
        return _task_hint(payload)
    if event.kind == EventKind.WORKER_UPDATE and not payload.get("deleted_at"):
        # Its tags or a status request changed: only that Worker needs to ask again.
        return Hint(workers=frozenset({str(payload.get("id", ""))}))
    return None


def _job_hint(payload: dict[str, Any]) -> Hint | None:
    if payload.get("was_deleted") or payload.get("delete_requested_at"):
        return None
    status = payload.get("status")
    if status not in RUNNABLE_JOB_STATUSES:
        return None
    previous = payload.get("previous_status")
    if previous is None:
        # A queued job without a status change is new, or got another tag or
        # priority. An active one only made progress: its tasks' events tell.
        return Hint(everyone=True) if status == JobStatus.QUEUED else None
    if previous in RUNNABLE_JOB_STATUSES:
        return None
    # Submitted, requeued or resumed: any number of tasks, for any Worker.
    return Hint(everyone=True)


def _task_hint(payload: dict[str, Any]) -> Hint | None:
    status = payload.get("status")
    previous = payload.get("previous_status")
    if previous == status:
        return None
    if status in WAITING_TASK_STATUSES:
        return Hint(tasks=1)  # Back in the queue: one Worker may take it.
    if status == TaskStatus.COMPLETED:
        return Hint(tasks=1)  # Tasks that depend on it may be runnable now.
    if status == TaskStatus.ACTIVE and previous in WAITING_TASK_STATUSES:
        # A Worker found work: there may be more of it, so wake the next one. This
        # spreads a many-task change over waiting Workers a few at a time.
        return Hint(tasks=1)
    return None


class NoticeSocket(Protocol):
    """One Worker's notice connection, as the API handler holds it."""

    def backed_up(self) -> bool:
        """True when the socket cannot take more now (closing, or the Worker stopped reading)."""
        ...

    async def send_notice(self) -> None: ...

    async def close(self) -> None: ...


class NoticeState(StrEnum):
    NOT_WAITING = "not-waiting"
    WAITING = "waiting"
    # Sent a notice; nothing more until the Worker says it is waiting again.
    NOTIFIED = "notified"


@dataclass(eq=False, slots=True)
class Connection:
    worker_uuid: str
    socket: NoticeSocket
    state: NoticeState = NoticeState.NOT_WAITING
    # A change came while the Worker was answering our notice: it may have asked
    # just before that change, so it gets another notice when it says it waits.
    missed: bool = False


@dataclass(slots=True)
class Counters:
    rounds: int = 0
    notices: int = 0


class WorkNotices:
    """Keeps the notice connections and sends notices for what the broker publishes."""

    def __init__(self, broker: Broker) -> None:
        self._pending: Hint | None = None
        self._wakeup = asyncio.Event()
        self._connections: set[Connection] = set()
        self._by_worker: dict[str, set[Connection]] = {}
        # Waiting connections, longest waiting first; a dict keeps insertion order.
        self._waiting: dict[Connection, None] = {}
        self._notified: set[Connection] = set()
        self.closed = False
        self.counters = Counters()
        broker.subscribe(self._on_event)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    @property
    def has_pending(self) -> bool:
        """Whether changes were heard that the next round has yet to send notices for."""
        return self._pending is not None

    def _on_event(self, event: Event) -> None:
        if not self._connections:
            return
        hint = hint_for(event)
        if hint is None:
            return
        self._pending = hint if self._pending is None else self._pending.merged(hint)
        self._wakeup.set()

    # --- connections, as the API handler reports them

    def connect(self, worker_uuid: str, socket: NoticeSocket) -> Connection:
        connection = Connection(worker_uuid, socket)
        self._connections.add(connection)
        self._by_worker.setdefault(worker_uuid, set()).add(connection)
        return connection

    def disconnect(self, connection: Connection) -> None:
        self._connections.discard(connection)
        self._waiting.pop(connection, None)
        self._notified.discard(connection)
        same_worker = self._by_worker.get(connection.worker_uuid)
        if same_worker is not None:
            same_worker.discard(connection)
            if not same_worker:
                del self._by_worker[connection.worker_uuid]

    def waiting(self, connection: Connection) -> bool:
        """The Worker waits for work; True when it must be sent a notice right away."""
        if connection.state == NoticeState.NOTIFIED and connection.missed:
            connection.missed = False
            self.counters.notices += 1
            return True
        if connection.state != NoticeState.WAITING:
            self._notified.discard(connection)
            connection.state = NoticeState.WAITING
            connection.missed = False
            self._waiting[connection] = None
        return False

    def not_waiting(self, connection: Connection) -> None:
        self._waiting.pop(connection, None)
        self._notified.discard(connection)
        connection.state = NoticeState.NOT_WAITING
        connection.missed = False

    # --- rounds of notices

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            sent = await self.deliver_pending()
            # Changes that arrive meanwhile are merged into the next round.
            await asyncio.sleep(pause_after_round(sent))

    async def deliver_pending(self) -> int:
        """Send one round of notices for the changes heard since the last; returns how many."""
        hint, self._pending = self._pending, None
        if hint is None:
            return 0
        return await self._send(self._recipients(hint))

    def _recipients(self, hint: Hint) -> list[Connection]:
        """Pick who gets a notice, and mark who must get one when it waits again."""
        chosen: dict[Connection, None] = {}
        if hint.everyone:
            chosen.update(self._waiting)
            for connection in self._notified:
                connection.missed = True
        else:
            for worker_uuid in hint.workers:
                for connection in self._by_worker.get(worker_uuid, ()):
                    if connection.state == NoticeState.WAITING:
                        chosen[connection] = None
                    elif connection.state == NoticeState.NOTIFIED:
                        connection.missed = True
            wanted = hint.tasks
            for connection in self._waiting:
                if wanted <= 0:
                    break
                if connection not in chosen:
                    chosen[connection] = None
                    wanted -= 1
            # Not enough Workers waiting: those answering a notice may have asked
            # before this change; about as many of them as there were tasks ask again.
            for connection in self._notified:
                if wanted <= 0:
                    break
                if not connection.missed:
                    connection.missed = True
                    wanted -= 1
        for connection in chosen:
            del self._waiting[connection]
            connection.state = NoticeState.NOTIFIED
            self._notified.add(connection)
        return list(chosen)

    async def _send(self, recipients: Iterable[Connection]) -> int:
        sent = 0
        for connection in recipients:
            if connection.socket.backed_up():
                # It has not read earlier frames; its own poll will find the work.
                continue
            try:
                await connection.socket.send_notice()
            except Exception as error:  # A socket that just closed; its handler cleans up.
                logger.debug("cannot send work notice", extra={"error": str(error)})
                continue
            sent += 1
            if sent % NOTICES_BETWEEN_YIELDS == 0:
                await asyncio.sleep(0)
        self.counters.rounds += 1
        self.counters.notices += sent
        return sent

    async def close(self) -> None:
        """Refuse new connections and close the open ones, so shutdown need not wait for them."""
        self.closed = True
        sockets = [connection.socket for connection in self._connections]
        if not sockets:
            return
        closing = [asyncio.ensure_future(socket.close()) for socket in sockets]
        _, pending = await asyncio.wait(closing, timeout=CLOSE_TIMEOUT_SECONDS)
        for task in pending:
            task.cancel()
        logger.info("closed work notice connections", extra={"connections": len(sockets)})


def pause_after_round(sent: int) -> float:
    busy = sent * EVENT_LOOP_SECONDS_PER_NOTICE
    return min(MAX_ROUND_INTERVAL, max(MIN_ROUND_INTERVAL, busy / NOTICE_SHARE))
