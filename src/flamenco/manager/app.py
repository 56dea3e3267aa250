"""The composition root: create_app() builds every Manager service, in order, and its routes."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable

import psycopg
from aiohttp import web
from aiohttp.typedefs import Middleware

from flamenco.api import SPEC_PATH
from flamenco.clock import Clock, SystemClock
from flamenco.manager import api, config, job_compilers, keys, persistence
from flamenco.manager import web as web_routes
from flamenco.manager.access.middleware import access_middleware, socket_io_authorizer
from flamenco.manager.access.oidc import SingleSignOn
from flamenco.manager.access.roles import Role
from flamenco.manager.access.service import AccessControl
from flamenco.manager.api.errors import error_middleware
from flamenco.manager.api.openapi import load_spec
from flamenco.manager.api.validation import validation_middleware
from flamenco.manager.cluster.event_relay import RedisEventRelay, channel_for_farm
from flamenco.manager.cluster.farm_duties import Duty, FarmDuties
from flamenco.manager.config.variables import Variables
from flamenco.manager.errors import DiskFull
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.eventbus.mqtt import BrokerAddressInvalid, MQTTForwarder
from flamenco.manager.eventbus.socketio import SocketIOForwarder
from flamenco.manager.eventbus.work_notices import WorkNotices
from flamenco.manager.lifecycle import Lifecycle
from flamenco.manager.metrics import exposition
from flamenco.manager.metrics.recorder import NO_METRICS, PrometheusRecorder, Recorder
from flamenco.manager.notifications.delivery import DeliveryService
from flamenco.manager.notifications.outbox import Outbox
from flamenco.manager.persistence import backups, maintenance
from flamenco.manager.persistence.database import SQLiteDatabase
from flamenco.manager.persistence.postgresql import FarmLock
from flamenco.manager.render_statistics.recorder import FrameRecorder
from flamenco.manager.render_statistics.retention import StatisticsRetention
from flamenco.manager.render_statistics.service import RenderStatistics
from flamenco.manager.services import upnp_ssdp
from flamenco.manager.services.approvals import ApprovalService
from flamenco.manager.services.database_health import DatabaseHealth
from flamenco.manager.services.disk_space import DiskSpace
from flamenco.manager.services.farm_status import FarmStatusService
from flamenco.manager.services.job_deleter import JobDeleter
from flamenco.manager.services.job_output import JobOutput
from flamenco.manager.services.jobs import JobService
from flamenco.manager.services.last_rendered import LastRendered
from flamenco.manager.services.local_storage import LocalStorage
from flamenco.manager.services.scheduling import TaskScheduler
from flamenco.manager.services.sleep_scheduler import SleepScheduler
from flamenco.manager.services.task_logs import TaskLogs
from flamenco.manager.services.task_updates import TaskUpdates
from flamenco.manager.services.timeout_checker import TimeoutChecker, Timeouts
from flamenco.manager.services.workers import WorkerService
from flamenco.manager.state_machine.failure_rules import FailurePolicy
from flamenco.manager.state_machine.service import StateMachine
from flamenco.shaman import Shaman

logger = logging.getLogger(__name__)

# How long background services get to stop before the Manager gives up on them.
SERVICE_STOP_TIMEOUT_SECONDS = 10.0
# How long a background service waits before trying again while the database is away.
OUTAGE_RETRY_SECONDS = 2.0
# What a background service may meet when the machine runs short of descriptors,
# memory or disk (SQLite says "unable to open database file" when out of
# descriptors): it starts again later, waiting twice as long after each failure in a row.
SHORTAGE_ERRORS = (OSError, MemoryError, sqlite3.OperationalError, psycopg.OperationalError)
MAX_SHORTAGE_RETRY_SECONDS = 60.0
FARM_DUTIES_LOCK = "flamenco-farm-duties"

# Largest request body read whole (JSON): a Shaman checkout of 100,000 files is about
# 15 MB, far over aiohttp's 1 MiB default. Uploads stream and have no such limit.
MAX_REQUEST_BYTES = 32 * 1024 * 1024


async def create_app(
    loaded: config.LoadedConfig,
    *,
    clock: Clock | None = None,
    database_busy_timeout_ms: int = 5_000,
    ssdp_port: int = upnp_ssdp.SSDP_PORT,
) -> web.Application:
    """Open the database and build every service; the returned app is ready to serve."""
    clock = clock or SystemClock()
    spec = load_spec(SPEC_PATH)
    settings = loaded.config
    # Shaman: content-addressed job files; None when disabled.
    shaman_settings = config.shaman_settings(loaded)
    shaman = await Shaman.open(shaman_settings) if shaman_settings else None

    db = await persistence.open_database(
        loaded.database_location, busy_timeout_ms=database_busy_timeout_ms
    )
    prometheus = PrometheusRecorder() if settings.metrics_enabled else None
    metrics: Recorder = prometheus or NO_METRICS
    if prometheus is not None:
        db.observe_transactions(prometheus.database_transaction)
    broker = Broker()
    farm_status = FarmStatusService(
        db=db, broker=broker, clock=clock, announces=lambda: _leads_the_farm(app)
    )
    disk_space = DiskSpace(farm_status)
    storage = LocalStorage(loaded.local_storage_path)
    storage.root.mkdir(parents=True, exist_ok=True)
    task_logs = TaskLogs(
        storage,
        broker,
        clock,
        max_bytes=settings.task_log_max_bytes,
        on_disk_full=disk_space.report,
    )
    variables = Variables.from_loaded(loaded)
    outbox = Outbox(settings.notifications, manager_name=settings.manager_name)
    notification_delivery = DeliveryService(db, settings.notifications, clock)
    outbox.on_recorded(notification_delivery.wake)
    recording = settings.render_statistics
    state_machine = StateMachine(
        db, broker, task_logs, clock, outbox=outbox, record_task_runs=recording, metrics=metrics
    )
    frame_recorder = FrameRecorder(db, clock) if recording else None
    compilers = job_compilers.JobCompilers(
        scripts_dir=loaded.job_scripts_path,
        timeout_seconds=settings.job_compiler_timeout.total_seconds(),
    )

    middlewares: list[Middleware] = [error_middleware, access_middleware, validation_middleware]
    if prometheus is not None:
        # Outermost, so that refused and failed requests are timed too.
        middlewares.insert(
            0, exposition.request_duration_middleware(prometheus, spec.operations.keys())
        )
    app = web.Application(middlewares=middlewares, client_max_size=MAX_REQUEST_BYTES)
    app[keys.CONFIG] = loaded
    app[keys.METRICS] = metrics
    app[keys.CLOCK] = clock
    app[keys.SPEC] = spec
    app[keys.DATABASE] = db
    app[keys.BROKER] = broker
    app[keys.LOCAL_STORAGE] = storage
    app[keys.TASK_LOGS] = task_logs
    app[keys.VARIABLES] = variables
    app[keys.STATE_MACHINE] = state_machine
    app[keys.NOTIFICATION_OUTBOX] = outbox
    app[keys.NOTIFICATION_DELIVERY] = notification_delivery
    app[keys.JOB_COMPILERS] = compilers
    app[keys.JOBS] = JobService(
        db=db,
        compilers=compilers,
        variables=variables,
        state_machine=state_machine,
        broker=broker,
        clock=clock,
        manager_platform=variables.manager_platform,
    )
    app[keys.APPROVALS] = ApprovalService(db=db, state_machine=state_machine, clock=clock)
    sleep_scheduler = SleepScheduler(db=db, broker=broker, clock=clock)
    app[keys.SLEEP_SCHEDULER] = sleep_scheduler
    app[keys.WORKERS] = WorkerService(
        db=db,
        broker=broker,
        state_machine=state_machine,
        clock=clock,
        initial_status=sleep_scheduler.initial_status,
    )
    app[keys.ACCESS] = AccessControl(
        db=db,
        clock=clock,
        enabled=settings.access_control,
        enrolment_secret=settings.worker_enrolment_secret,
        worker_check=app[keys.WORKERS].authenticate,
        trusted_proxies=config.parse_networks(settings.trusted_proxy_addresses),
        proxy_user_header=settings.trusted_proxy_user_header,
        proxy_role=Role(settings.trusted_proxy_role),
    )
    app[keys.SINGLE_SIGN_ON] = SingleSignOn(settings.oidc, clock) if settings.oidc.issuer else None
    app[keys.SCHEDULER] = TaskScheduler(
        db=db,
        state_machine=state_machine,
        clock=clock,
        limit_capacities=settings.resource_limits,
        metrics=metrics,
    )
    app[keys.TASK_UPDATES] = TaskUpdates(
        db=db,
        state_machine=state_machine,
        task_logs=task_logs,
        clock=clock,
        failure_policy=FailurePolicy(
            blocklist_threshold=settings.blocklist_threshold,
            fail_after_softfail_count=settings.task_fail_after_softfail_count,
        ),
        frame_recorder=frame_recorder,
        metrics=metrics,
    )
    app[keys.RENDER_STATISTICS] = RenderStatistics(db, clock, recorder=frame_recorder)
    app[keys.RENDER_STATISTICS_RETENTION] = StatisticsRetention(
        db, clock, keep=settings.render_statistics_retention
    )
    if frame_recorder is not None:
        app[keys.FRAME_RECORDER] = frame_recorder
    app[keys.FARM_LOCK] = (
        FarmLock(str(loaded.database_location), FARM_DUTIES_LOCK)
        if loaded.uses_postgresql
        else None
    )
    app[keys.FARM_STATUS] = farm_status
    app[keys.DISK_SPACE] = disk_space
    app[keys.DATABASE_HEALTH] = DatabaseHealth(app[keys.FARM_STATUS], loaded)
    app[keys.TIMEOUT_CHECKER] = TimeoutChecker(
        db=db,
        state_machine=state_machine,
        clock=clock,
        timeouts=Timeouts(
            task=settings.task_timeout,
            worker=settings.worker_timeout,
            no_progress=settings.no_progress_timeout,
        ),
    )
    app[keys.SHAMAN] = shaman
    app[keys.JOB_DELETER] = JobDeleter(
        db=db,
        storage=storage,
        broker=broker,
        task_logs=task_logs,
        erase_checkout=shaman.erase_checkout if shaman else None,
    )
    app[keys.LAST_RENDERED] = LastRendered(
        db=db, storage=storage, broker=broker, clock=clock, on_disk_full=disk_space.report
    )
    app[keys.JOB_OUTPUT] = JobOutput(
        db=db,
        variables=variables,
        state_machine=state_machine,
        broker=broker,
        storage=storage,
        clock=clock,
    )
    app[keys.RESTART] = Lifecycle()
    mqtt_settings = settings.mqtt.client
    if mqtt_settings.enabled:
        try:
            app[keys.MQTT] = MQTTForwarder(broker, mqtt_settings)
        except BrokerAddressInvalid as error:
            # As upstream: the Manager runs on without MQTT rather than not at all.
            logger.error("MQTT disabled: %s (mqtt.client.broker)", error)
    socket_io = SocketIOForwarder(broker, metrics=metrics)
    socket_io.attach(app)
    socket_io.authorize = socket_io_authorizer(app)
    app[keys.SOCKET_IO] = socket_io
    if settings.redis_url:
        channel = channel_for_farm(str(loaded.database_location))
        app[keys.EVENT_RELAY] = RedisEventRelay(broker, settings.redis_url, channel)
    app[keys.WORK_NOTICES] = WorkNotices(broker)

    api.setup_routes(app, spec)
    web_routes.setup_routes(app, settings, storage)
    exposition.setup_routes(app)
    if settings.autodiscoverable:
        listen_host, http_port = config.listen_address(settings.listen)
        app[keys.SSDP] = upnp_ssdp.SSDPServer(
            http_port=http_port, listen_host=listen_host, port=ssdp_port
        )

    app.cleanup_ctx.append(_database_lifetime)
    app.cleanup_ctx.append(_background_services)
    app.on_shutdown.append(_announce_shutdown)
    return app


async def _database_lifetime(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[keys.JOBS].close()
    await app[keys.TASK_LOGS].close()
    await app[keys.DATABASE].close()


async def _background_services(app: web.Application) -> AsyncIterator[None]:
    """Finish interrupted job changes, then run each long-lived service as a named task.

    Services that each process runs for itself run at once; the farm's duties run
    in whichever process leads the farm (always this one on SQLite).
    """
    state_machine = app[keys.STATE_MACHINE]
    await state_machine.check_stuck()
    db = app[keys.DATABASE]
    loaded = app[keys.CONFIG]
    health = app[keys.DATABASE_HEALTH]
    services: dict[str, Duty] = {
        "farm-status": app[keys.FARM_STATUS].run,
        "disk-space": app[keys.DISK_SPACE].run,
        "socket-io": app[keys.SOCKET_IO].run,
        "work-notices": app[keys.WORK_NOTICES].run,
        "last-rendered": app[keys.LAST_RENDERED].run,
    }
    if isinstance(db, SQLiteDatabase):
        services["wal-checkpoints"] = lambda: maintenance.run_wal_checkpoints(db)
    if keys.EVENT_RELAY in app:
        services["event-relay"] = app[keys.EVENT_RELAY].run
    if keys.FRAME_RECORDER in app:
        services["frame-recorder"] = app[keys.FRAME_RECORDER].run
    duties: dict[str, Duty] = {
        "job-deleter": app[keys.JOB_DELETER].run,
        "timeout-checker": app[keys.TIMEOUT_CHECKER].run,
        "sleep-scheduler": app[keys.SLEEP_SCHEDULER].run,
        # One process delivers, so that no message is sent twice at the same time.
        "notifications": app[keys.NOTIFICATION_DELIVERY].run,
        "integrity-checks": lambda: maintenance.run_integrity_checks(
            db, loaded.config.database_check_period, health.integrity_checked
        ),
        "render-statistics-retention": app[keys.RENDER_STATISTICS_RETENTION].run,
    }
    if isinstance(db, SQLiteDatabase):
        # PostgreSQL's backups are its administrator's (pg_dump, docs/scale-out.md).
        backup_settings = backups.BackupSettings(
            folder=loaded.database_backup_path,
            period=loaded.config.database_backup_period,
            keep=loaded.config.database_backup_keep,
        )
        duties["database-backups"] = lambda: backups.run_backups(
            db.backup,
            loaded.database_path,
            backup_settings,
            app[keys.CLOCK],
            on_success=health.backup_made,
            on_failure=health.backup_failed,
        )
    if (shaman := app[keys.SHAMAN]) is not None:
        duties["shaman"] = shaman.run
    if keys.MQTT in app:
        duties["mqtt"] = app[keys.MQTT].run
    if keys.SSDP in app:
        duties["upnp-ssdp"] = app[keys.SSDP].run
    lock = app[keys.FARM_LOCK]
    disk_full = app[keys.DISK_SPACE].report
    farm_duties = FarmDuties(
        {name: _retrying_through_outages(name, run, disk_full) for name, run in duties.items()},
        lock=lock,
        # A process that takes over finishes what the previous leader left halfway.
        on_lead=state_machine.check_stuck if lock is not None else _nothing,
    )
    app[keys.FARM_DUTIES] = farm_duties
    # Decided before serving, so that a lone process forwards its first events too.
    await farm_duties.try_to_lead()
    services["farm-duties"] = farm_duties.run
    tasks = [
        asyncio.create_task(_retrying_through_outages(name, run, disk_full)(), name=name)
        for name, run in services.items()
    ]
    for task in tasks:
        task.add_done_callback(lambda done: _service_ended(app, done))
    app[keys.BROKER].publish(events.lifecycle("manager-startup"))
    yield
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=SERVICE_STOP_TIMEOUT_SECONDS)
    for task in pending:
        logger.error("service did not stop in time", extra={"service": task.get_name()})


def _leads_the_farm(app: web.Application) -> bool:
    return keys.FARM_DUTIES in app and app[keys.FARM_DUTIES].is_leader


async def _nothing() -> None:
    pass


def _retrying_through_outages(
    name: str, run: Duty, on_disk_full: Callable[[DiskFull], None]
) -> Duty:
    """`run`, started again when the database is unreachable for a while, as when it restarts,
    when a disk is full (the Manager keeps running until space is freed), or when the
    machine runs short of something else (descriptors, memory), as clients can make it
    do; other errors are bugs, which stop the Manager (_service_ended)."""

    async def retrying() -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await run()
                return
            except persistence.DatabaseBusy as error:
                logger.warning(
                    "background service waits for the database",
                    extra={"service": name, "error": str(error)},
                )
                delay = OUTAGE_RETRY_SECONDS
            except DiskFull as error:
                on_disk_full(error)
                delay = OUTAGE_RETRY_SECONDS
            except SHORTAGE_ERRORS as error:
                failures = (
                    1 if time.monotonic() - started > MAX_SHORTAGE_RETRY_SECONDS else failures + 1
                )
                delay = min(MAX_SHORTAGE_RETRY_SECONDS, OUTAGE_RETRY_SECONDS * 2 ** (failures - 1))
                logger.error(
                    "background service failed, starting it again in %.0f s: %s",
                    delay,
                    error,
                    exc_info=failures == 1,
                    extra={"service": name, "error_type": type(error).__name__},
                )
            await asyncio.sleep(delay)

    return retrying


def _service_ended(app: web.Application, task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        return  # Services that have nothing to do, like disabled checks, just return.
    logger.critical(
        "background service failed, shutting down",
        exc_info=error,
        extra={"service": task.get_name()},
    )
    app[keys.RESTART].fail()


async def _announce_shutdown(app: web.Application) -> None:
    app[keys.BROKER].publish(events.lifecycle("manager-shutdown"))
    await app[keys.SOCKET_IO].close()
    await app[keys.WORK_NOTICES].close()
