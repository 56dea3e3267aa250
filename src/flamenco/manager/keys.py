"""Every typed key under which the Manager's aiohttp app keeps its services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from flamenco.clock import Clock
    from flamenco.manager.access.oidc import SingleSignOn
    from flamenco.manager.access.roles import Principal
    from flamenco.manager.access.service import AccessControl
    from flamenco.manager.api.openapi import Spec, ValidatedRequest
    from flamenco.manager.cluster.event_relay import RedisEventRelay
    from flamenco.manager.cluster.farm_duties import FarmDuties
    from flamenco.manager.config import LoadedConfig
    from flamenco.manager.config.variables import Variables
    from flamenco.manager.eventbus.broker import Broker
    from flamenco.manager.eventbus.mqtt import MQTTForwarder
    from flamenco.manager.eventbus.socketio import SocketIOForwarder
    from flamenco.manager.eventbus.work_notices import WorkNotices
    from flamenco.manager.job_compilers import JobCompilers
    from flamenco.manager.lifecycle import Lifecycle
    from flamenco.manager.metrics.recorder import Recorder
    from flamenco.manager.notifications.delivery import DeliveryService
    from flamenco.manager.notifications.outbox import Outbox
    from flamenco.manager.persistence import Database
    from flamenco.manager.persistence.postgresql import FarmLock
    from flamenco.manager.render_statistics.recorder import FrameRecorder
    from flamenco.manager.render_statistics.retention import StatisticsRetention
    from flamenco.manager.render_statistics.service import RenderStatistics
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
    from flamenco.manager.services.timeout_checker import TimeoutChecker
    from flamenco.manager.services.upnp_ssdp import SSDPServer
    from flamenco.manager.services.workers import WorkerService
    from flamenco.manager.state_machine.service import StateMachine
    from flamenco.shaman import Shaman

CONFIG: web.AppKey[LoadedConfig] = web.AppKey("config")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
ACCESS: web.AppKey[AccessControl] = web.AppKey("access")
# None unless the `oidc` section names an issuer.
SINGLE_SIGN_ON: web.AppKey[SingleSignOn | None] = web.AppKey("single_sign_on")
SPEC: web.AppKey[Spec] = web.AppKey("spec")
DATABASE: web.AppKey[Database] = web.AppKey("database")
BROKER: web.AppKey[Broker] = web.AppKey("broker")
VARIABLES: web.AppKey[Variables] = web.AppKey("variables")
LOCAL_STORAGE: web.AppKey[LocalStorage] = web.AppKey("local_storage")
TASK_LOGS: web.AppKey[TaskLogs] = web.AppKey("task_logs")
STATE_MACHINE: web.AppKey[StateMachine] = web.AppKey("state_machine")
JOB_COMPILERS: web.AppKey[JobCompilers] = web.AppKey("job_compilers")
JOBS: web.AppKey[JobService] = web.AppKey("jobs")
APPROVALS: web.AppKey[ApprovalService] = web.AppKey("approvals")
WORKERS: web.AppKey[WorkerService] = web.AppKey("workers")
SCHEDULER: web.AppKey[TaskScheduler] = web.AppKey("scheduler")
TASK_UPDATES: web.AppKey[TaskUpdates] = web.AppKey("task_updates")
RENDER_STATISTICS: web.AppKey[RenderStatistics] = web.AppKey("render_statistics")
RENDER_STATISTICS_RETENTION: web.AppKey[StatisticsRetention] = web.AppKey(
    "render_statistics_retention"
)
# Only present when render statistics are recorded (the render_statistics setting).
FRAME_RECORDER: web.AppKey[FrameRecorder] = web.AppKey("frame_recorder")
FARM_STATUS: web.AppKey[FarmStatusService] = web.AppKey("farm_status")
DATABASE_HEALTH: web.AppKey[DatabaseHealth] = web.AppKey("database_health")
DISK_SPACE: web.AppKey[DiskSpace] = web.AppKey("disk_space")
JOB_DELETER: web.AppKey[JobDeleter] = web.AppKey("job_deleter")
LAST_RENDERED: web.AppKey[LastRendered] = web.AppKey("last_rendered")
JOB_OUTPUT: web.AppKey[JobOutput] = web.AppKey("job_output")
# None when Shaman is disabled (in the configuration, or during a first run).
SHAMAN: web.AppKey[Shaman | None] = web.AppKey("shaman")
SOCKET_IO: web.AppKey[SocketIOForwarder] = web.AppKey("socket_io")
WORK_NOTICES: web.AppKey[WorkNotices] = web.AppKey("work_notices")
# Only present when MQTT is enabled and configured.
MQTT: web.AppKey[MQTTForwarder] = web.AppKey("mqtt")
# Only present when the Manager is autodiscoverable.
SSDP: web.AppKey[SSDPServer] = web.AppKey("ssdp")
TIMEOUT_CHECKER: web.AppKey[TimeoutChecker] = web.AppKey("timeout_checker")
SLEEP_SCHEDULER: web.AppKey[SleepScheduler] = web.AppKey("sleep_scheduler")
# Only present when redis_url is set: events to and from other Manager processes.
EVENT_RELAY: web.AppKey[RedisEventRelay] = web.AppKey("event_relay")
# None on SQLite, where the only process always leads the farm.
FARM_LOCK: web.AppKey[FarmLock | None] = web.AppKey("farm_lock")
# Set once the background services start.
FARM_DUTIES: web.AppKey[FarmDuties] = web.AppKey("farm_duties")
# Notifications: what records them in the outbox, and what delivers them (leader only).
NOTIFICATION_OUTBOX: web.AppKey[Outbox] = web.AppKey("notification_outbox")
NOTIFICATION_DELIVERY: web.AppKey[DeliveryService] = web.AppKey("notification_delivery")
# A PrometheusRecorder, or NO_METRICS when metrics are switched off.
METRICS: web.AppKey[Recorder] = web.AppKey("metrics")
# How the app asks to be stopped or restarted by whoever runs it.
RESTART: web.AppKey[Lifecycle] = web.AppKey("lifecycle")

# Set on each API request by the validation middleware.
VALIDATED: web.RequestKey[ValidatedRequest] = web.RequestKey("validated")
WORKER_UUID: web.RequestKey[str] = web.RequestKey("worker_uuid")
# Set on every request by the access middleware: who sent it.
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
