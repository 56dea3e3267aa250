"""The Worker's states (awake, asleep, offline, restart) and following the Manager's requests."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flamenco.api.enums import WorkerStatus
from flamenco.clock import Clock
from flamenco.worker.client import Answer, ManagerError, ManagerUnreachable, TaskReassigned

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    """Upstream's waits, in seconds."""

    first_fetch: float = 3.0
    no_task: float = 20.0
    fetch_failed: float = 60.0
    after_task: float = 2.0
    may_keep_running: float = 10.0
    asleep_poll: float = 3.0
    # Each wait before asking for a task varies by this fraction, so Workers started
    # together do not keep asking at the same moment.
    jitter: float = 0.1


class StateClient(Protocol):
    async def worker_state_changed(self, status: str) -> Answer: ...
    async def schedule_task(self) -> Answer: ...
    async def worker_state(self) -> Answer: ...
    async def may_worker_run(self, task_id: str) -> Answer: ...


class TaskRunner(Protocol):
    async def run(self, task: Mapping[str, Any]) -> None: ...


class WorkWaiter(Protocol):
    """Our Manager's work notices (see work_notices.py); absent with an upstream Manager."""

    async def waiting(self) -> None: ...
    async def not_waiting(self) -> None: ...
    def forget_notices(self) -> None: ...
    async def wait_for_work(self, seconds: float) -> bool: ...


def effective_state(requested: str) -> WorkerStatus:
    """The state a Worker goes to when asked for `requested`; unknown ones mean asleep."""
    if requested in (
        WorkerStatus.AWAKE,
        WorkerStatus.ASLEEP,
        WorkerStatus.OFFLINE,
        WorkerStatus.RESTART,
    ):
        return WorkerStatus(requested)
    logger.warning("no such state for a Worker, going to sleep instead", extra={"state": requested})
    return WorkerStatus.ASLEEP


async def finish(task: asyncio.Future[None]) -> None:
    """Wait until `task` has ended, even when cancelled meanwhile; then pass that cancellation on.

    A task being stopped may take seconds (its subprocess gets time to exit), and
    a shutdown that arrives during those seconds must neither be lost nor leave
    the subprocess behind.
    """
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


class StateMachine:
    """Runs the Worker's state loop until the Manager sends it offline or to restart."""

    def __init__(
        self,
        client: StateClient,
        runner: TaskRunner,
        clock: Clock,
        *,
        timings: Timings | None = None,
        rng: random.Random | None = None,
        notices: WorkWaiter | None = None,
    ) -> None:
        self._client = client
        self._runner = runner
        self._clock = clock
        self._timings = timings or Timings()
        self._random = rng or random.Random()
        self._notices = notices
        self.state = WorkerStatus.STARTING

    async def run(self, requested: str) -> WorkerStatus:
        """Follow status changes from `requested` on; returns OFFLINE or RESTART."""
        while True:
            state = effective_state(requested)
            logger.info("state change", extra={"from": self.state.value, "to": state.value})
            self.state = state
            if state in (WorkerStatus.OFFLINE, WorkerStatus.RESTART):
                # No acknowledgement: signing off tells the Manager.
                return state
            await self._acknowledge(state)
            if state == WorkerStatus.AWAKE:
                requested = await self._awake()
            else:
                requested = await self._asleep()

    async def _acknowledge(self, state: WorkerStatus) -> None:
        try:
            answer = await self._client.worker_state_changed(state.value)
        except ManagerUnreachable as error:
            logger.warning("unable to notify Manager of status change", extra={"error": str(error)})
            return
        if answer.status != 204:
            logger.warning(
                "error sending status change to Manager",
                extra={"status": answer.status, "error": answer.message},
            )

    def _jittered(self, seconds: float) -> float:
        spread = seconds * self._timings.jitter
        return seconds + self._random.uniform(-spread, spread)

    # --- awake

    async def _awake(self) -> str:
        """Fetch and run tasks until the Manager asks for another status."""
        while True:
            task, requested = await self._fetch_task()
            if requested is not None:
                return requested
            assert task is not None
            await self.run_task(task)
            await self._clock.sleep(self._timings.after_task)

    async def _fetch_task(self) -> tuple[Mapping[str, Any] | None, str | None]:
        notices = self._notices
        if notices is not None:
            await notices.waiting()
        wait = self._timings.first_fetch
        no_task = False
        while True:
            if no_task and notices is not None:
                # Our Manager says when work may be waiting; the poll stays as a fallback.
                await notices.wait_for_work(self._jittered(wait))
            else:
                await self._clock.sleep(self._jittered(wait))
            if notices is not None:
                notices.forget_notices()
            no_task = False
            try:
                answer = await self._client.schedule_task()
            except ManagerUnreachable as error:
                logger.error("error obtaining task", extra={"error": str(error)})
                wait = self._timings.fetch_failed
                continue
            if answer.status == 200 and isinstance(answer.body, dict):
                logger.info("obtained task", extra={"task": answer.body.get("uuid")})
                if notices is not None:
                    await notices.not_waiting()
                return answer.body, None
            if answer.status == 423 and isinstance(answer.body, dict):
                requested = str(answer.body.get("status_requested", ""))
                logger.info("Manager requests status change", extra={"status": requested})
                if notices is not None:
                    await notices.not_waiting()
                return None, requested
            if answer.status == 204:
                logger.debug("no task available")
                wait = self._timings.no_task
                no_task = True
                if notices is not None:
                    await notices.waiting()
            elif answer.status == 403:
                logger.error("access denied", extra={"error": answer.message})
                wait = self._timings.fetch_failed
            else:
                logger.warning(
                    "unable to obtain task for unknown reason",
                    extra={"status": answer.status, "error": answer.message},
                )
                wait = self._timings.fetch_failed

    async def run_task(self, task: Mapping[str, Any]) -> None:
        """Run a task, asking the Manager every so often whether it may continue."""
        task_id = str(task.get("uuid", ""))
        running = asyncio.ensure_future(self._runner.run(task))
        aborted_because = ""
        try:
            while not running.done():
                sleeper = asyncio.ensure_future(self._clock.sleep(self._timings.may_keep_running))
                try:
                    await asyncio.wait({running, sleeper}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                if running.done():
                    break
                allowed, reason = await self._may_keep_running(task_id)
                if not allowed:
                    # Said before stopping the command, so that it is said even
                    # when a shutdown interrupts the wait for the command to end.
                    logger.warning(
                        "task aborted by request of Manager",
                        extra={"task": task_id, "reason": reason},
                    )
                    aborted_because = reason
                    running.cancel()
                    break
        finally:
            if not running.done():
                running.cancel()
            await finish(running)
        if aborted_because:
            return
        if running.cancelled():
            return
        error = running.exception()
        if isinstance(error, TaskReassigned):
            logger.warning("task was reassigned to another Worker", extra={"task": task_id})
        elif isinstance(error, ManagerError):
            logger.warning("error executing task", extra={"task": task_id, "error": str(error)})
        elif error is not None:
            logger.error("error executing task", extra={"task": task_id}, exc_info=error)

    async def _may_keep_running(self, task_id: str) -> tuple[bool, str]:
        """Ask the Manager; when it cannot be asked, the answer is yes."""
        try:
            answer = await self._client.may_worker_run(task_id)
        except ManagerUnreachable as error:
            logger.warning("error asking Manager may-I-keep-running", extra={"error": str(error)})
            return True, ""
        body = answer.body
        if answer.status != 200 or not isinstance(body, dict):
            logger.warning(
                "unable to check may-i-keep-running for unknown reason",
                extra={"status": answer.status, "error": answer.message},
            )
            return True, ""
        if body.get("mayKeepRunning", True):
            return True, ""
        if body.get("statusChangeRequested"):
            return False, "worker status change requested"
        return False, str(body.get("reason") or "manager said NO")

    # --- asleep

    async def _asleep(self) -> str:
        logger.info("sleeping")
        while True:
            await self._clock.sleep(self._timings.asleep_poll)
            try:
                answer = await self._client.worker_state()
            except ManagerUnreachable as error:
                logger.warning("error checking upstream state changes", extra={"error": str(error)})
                continue
            if answer.status == 200 and isinstance(answer.body, dict):
                requested = str(answer.body.get("status_requested", ""))
                logger.info("Manager requests status change", extra={"status": requested})
                return requested
            if answer.status != 204:
                logger.warning(
                    "unable to obtain requested state for unknown reason",
                    extra={"status": answer.status, "error": answer.message},
                )
