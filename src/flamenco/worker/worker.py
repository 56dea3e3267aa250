"""The Worker process: registration, sign-on, the state loop with its side loops, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

from flamenco.api.enums import WorkerStatus
from flamenco.clock import Clock, SystemClock
from flamenco.worker import config
from flamenco.worker.client import ManagerClient, ManagerUnreachable
from flamenco.worker.log_streaming import LogStream
from flamenco.worker.output_uploader import OutputUploader
from flamenco.worker.reporter import Reporter
from flamenco.worker.states import StateMachine, Timings
from flamenco.worker.task_executor import TaskExecutor
from flamenco.worker.upstream_buffer import UpstreamBuffer
from flamenco.worker.work_notices import WorkNotices

logger = logging.getLogger(__name__)

SIGN_ON_RETRY = 5.0
SIGN_OFF_TIMEOUT = 3.0
SHUTDOWN_TIMEOUT = 20.0

EXIT_OK = 0
EXIT_SIGNAL = 1
# Upstream exits with -2 when shutting down takes too long, which the OS reports as 254.
EXIT_SHUTDOWN_TIMEOUT = 254


class RegistrationFailed(Exception):
    """The Manager refused to register this Worker."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    config: config.WorkerConfig
    home: Path
    flush_only: bool = False
    timings: Timings | None = None
    # Tests turn this off to run a Worker inside their own event loop.
    handle_signals: bool = True


def platform_name() -> str:
    """The platform as upstream names it (Go's GOOS): linux, windows, darwin."""
    return platform.system().lower()


async def register_or_sign_on(
    client: ManagerClient, cfg: config.WorkerConfig, credentials_path: Path, clock: Clock
) -> str:
    """Sign on with stored credentials, registering anew when the Manager does not know them.

    Returns the status the Manager wants the Worker in. Keeps trying while the
    Manager cannot be reached.
    """
    credentials = config.load_credentials(credentials_path)
    if credentials is not None:
        client.credentials = credentials
        status = await _sign_on(client, cfg, clock)
        if status is not None:
            return status
        logger.info("Manager does not accept our credentials, registering anew")

    secret = secrets.token_hex(32)
    name = config.worker_name(cfg)
    while True:
        try:
            answer = await client.register_worker(
                name=name, platform=platform_name(), secret=secret, task_types=list(cfg.task_types)
            )
        except ManagerUnreachable as error:
            logger.warning("cannot reach Manager to register", extra={"error": str(error)})
            await clock.sleep(SIGN_ON_RETRY)
            continue
        break
    if answer.status != 200 or not isinstance(answer.body, dict) or "uuid" not in answer.body:
        raise RegistrationFailed(f"Manager answered {answer.status}: {answer.message}")
    credentials = config.Credentials(str(answer.body["uuid"]), secret)
    config.save_credentials(credentials_path, credentials)
    logger.info(
        "registered at Manager", extra={"worker": credentials.worker_id, "worker_name": name}
    )
    client.credentials = credentials
    status = await _sign_on(client, cfg, clock)
    if status is None:
        raise RegistrationFailed("the Manager refused the credentials it just gave out")
    return status


async def _sign_on(client: ManagerClient, cfg: config.WorkerConfig, clock: Clock) -> str | None:
    """The requested status, or None when the Manager answered but refused."""
    name = config.worker_name(cfg)
    while True:
        logger.info(
            "signing on at Manager",
            extra={
                "manager": client.base_url,
                "worker_name": name,
                "task_types": ",".join(cfg.task_types),
            },
        )
        try:
            answer = await client.sign_on(
                name=name,
                task_types=list(cfg.task_types),
                can_restart=cfg.restart_exit_code != 0,
            )
        except ManagerUnreachable as error:
            logger.warning("unable to send sign-on request", extra={"error": str(error)})
            await clock.sleep(SIGN_ON_RETRY)
            continue
        if answer.status == 200 and isinstance(answer.body, dict):
            status = str(answer.body.get("status_requested", ""))
            logger.info("manager accepted sign-on", extra={"startup_state": status})
            return status
        logger.warning(
            "unable to sign on at Manager", extra={"status": answer.status, "error": answer.message}
        )
        return None


def _force_exit() -> None:
    logger.error("shutdown forced, stopping process", extra={"timeout": SHUTDOWN_TIMEOUT})
    logging.shutdown()
    os._exit(EXIT_SHUTDOWN_TIMEOUT)


class Worker:
    def __init__(self, options: WorkerOptions, clock: Clock | None = None) -> None:
        self.options = options
        self.clock = clock or SystemClock()
        self._stop = asyncio.Event()
        self._startup_done = False
        self.machine: StateMachine | None = None
        self.log_stream: LogStream | None = None
        self.work_notices: WorkNotices | None = None

    def request_stop(self) -> None:
        """Stop gracefully, as on SIGINT or SIGTERM."""
        if not self._stop.is_set():
            logger.info("shutting down on request")
            if self.options.handle_signals:
                # The process owns the loop: if shutting down hangs, end it anyway.
                asyncio.get_running_loop().call_later(SHUTDOWN_TIMEOUT, _force_exit)
        self._stop.set()

    async def run(self) -> int:
        """Run until the Manager sends the Worker offline or to restart, or a signal arrives."""
        cfg = self.options.config
        client = ManagerClient(cfg.manager_url, enrolment_secret=config.enrolment_secret(cfg))
        try:
            return await self._run(client)
        finally:
            await client.close()

    async def _run(self, client: ManagerClient) -> int:
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None
        stopping_startup = self._install_signals(loop, main)
        home = self.options.home
        try:
            initial = await register_or_sign_on(
                client, self.options.config, home / config.CREDENTIALS_FILENAME, self.clock
            )
            buffer = UpstreamBuffer(client, self.clock, home / config.DATABASE_FILENAME)
            await buffer.open()
        except asyncio.CancelledError:
            if stopping_startup.is_set():
                return EXIT_SIGNAL
            raise
        finally:
            self._startup_done = True
        try:
            if buffer.queued:
                logger.info("flushing upstream buffer", extra={"queued": buffer.queued})
                await buffer.flush()
            if self.options.flush_only:
                logger.info("upstream buffer flushed, shutting down")
                return EXIT_OK
            return await self._work(client, buffer, initial)
        finally:
            await self._close(client, buffer)

    def _install_signals(
        self, loop: asyncio.AbstractEventLoop, main: asyncio.Task[object]
    ) -> asyncio.Event:
        """Signals cancel the start-up (it may wait long for a Manager), later stop gracefully."""
        stopping_startup = asyncio.Event()
        if not self.options.handle_signals:
            return stopping_startup

        def on_signal(signum: int) -> None:
            logger.info(
                "signal received, shutting down", extra={"signal": signal.Signals(signum).name}
            )
            if not self._startup_done:
                stopping_startup.set()
                main.cancel()
            self.request_stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows event loops
                loop.add_signal_handler(signum, on_signal, signum)
        return stopping_startup

    async def _work(self, client: ManagerClient, buffer: UpstreamBuffer, initial: str) -> int:
        reporter: Reporter
        stream: LogStream | None = None
        if await client.offers_log_stream():
            stream = LogStream(client, self.clock, on_change=lambda: reporter.wake())
            logger.info("Manager offers log streaming, using it")
        else:
            logger.info("Manager does not offer log streaming, sending logs with task updates")
        self.log_stream = stream
        reporter = Reporter(buffer, self.clock, stream=stream)
        uploader = OutputUploader(client)
        executor = TaskExecutor(
            reporter,
            self.clock,
            output_produced=uploader.offer,
            oom_score_adjust=self.options.config.oom_score_adjust,
            environment=config.render_environment(self.options.config),
        )
        notices: WorkNotices | None = None
        if await client.offers_work_notices():
            notices = WorkNotices(client, self.clock)
            logger.info("Manager offers work notices, waiting for them between polls")
        self.work_notices = notices
        self.machine = StateMachine(
            client, executor, self.clock, timings=self.options.timings, notices=notices
        )

        async with asyncio.TaskGroup() as side_loops:
            loops = [
                side_loops.create_task(buffer.run(), name="upstream buffer flush"),
                side_loops.create_task(reporter.run(), name="task reporter"),
                side_loops.create_task(uploader.run(), name="output uploader"),
            ]
            if stream is not None:
                loops.append(side_loops.create_task(stream.run(), name="log stream"))
            if notices is not None:
                loops.append(side_loops.create_task(notices.run(), name="work notices"))
            exit_code = await self._run_states(initial)
            if notices is not None:
                await notices.close()
            await self._drain(reporter, stream)
            for task in loops:
                task.cancel()
        return exit_code

    async def _run_states(self, initial: str) -> int:
        assert self.machine is not None
        states = asyncio.ensure_future(self.machine.run(initial))
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({states, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not states.done():
                # Stops the running command too; the Manager requeues its task at sign-off.
                states.cancel()
                await asyncio.wait({states})
        if states.cancelled():
            return EXIT_SIGNAL
        final = states.result()
        if final == WorkerStatus.RESTART:
            return self.options.config.restart_exit_code
        return EXIT_OK

    async def _drain(self, reporter: Reporter, stream: LogStream | None) -> None:
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT / 2):
                await reporter.close()
        except TimeoutError:
            logger.warning("timed out sending the last task updates")
        if stream is not None:
            await stream.close()

    async def _close(self, client: ManagerClient, buffer: UpstreamBuffer) -> None:
        try:
            await buffer.close()
        finally:
            logger.info("signing off at Manager")
            try:
                answer = await client.sign_off(timeout=SIGN_OFF_TIMEOUT)
            except ManagerUnreachable as error:
                logger.error("unable to sign off at Manager", extra={"error": str(error)})
            else:
                if answer.status != 204:
                    logger.error(
                        "error received when signing off at Manager",
                        extra={"status": answer.status, "error": answer.message},
                    )
