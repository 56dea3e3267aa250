"""Every typed key under which the Manager's aiohttp app keeps its services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from flamenco.clock import Clock
    from flamenco.manager.api.openapi import Spec, ValidatedRequest
    from flamenco.manager.config import LoadedConfig
    from flamenco.manager.eventbus.broker import Broker
    from flamenco.manager.farm_status import FarmStatusService
    from flamenco.manager.job_compilers import JobCompilers
    from flamenco.manager.job_deleter import JobDeleter
    from flamenco.manager.job_service import JobService
    from flamenco.manager.last_rendered import LastRendered
    from flamenco.manager.local_storage import LocalStorage
    from flamenco.manager.persistence import Database
    from flamenco.manager.state_machine.service import StateMachine
    from flamenco.manager.task_logs import TaskLogs
    from flamenco.manager.task_scheduler import TaskScheduler
    from flamenco.manager.task_updates import TaskUpdates
    from flamenco.manager.variables import Variables
    from flamenco.manager.worker_service import WorkerService

CONFIG = web.AppKey("config", "LoadedConfig")
CLOCK = web.AppKey("clock", "Clock")
SPEC = web.AppKey("spec", "Spec")
DATABASE = web.AppKey("database", "Database")
BROKER = web.AppKey("broker", "Broker")
VARIABLES = web.AppKey("variables", "Variables")
LOCAL_STORAGE = web.AppKey("local_storage", "LocalStorage")
TASK_LOGS = web.AppKey("task_logs", "TaskLogs")
STATE_MACHINE = web.AppKey("state_machine", "StateMachine")
JOB_COMPILERS = web.AppKey("job_compilers", "JobCompilers")
JOBS = web.AppKey("jobs", "JobService")
WORKERS = web.AppKey("workers", "WorkerService")
SCHEDULER = web.AppKey("scheduler", "TaskScheduler")
TASK_UPDATES = web.AppKey("task_updates", "TaskUpdates")
FARM_STATUS = web.AppKey("farm_status", "FarmStatusService")
JOB_DELETER = web.AppKey("job_deleter", "JobDeleter")
LAST_RENDERED = web.AppKey("last_rendered", "LastRendered")

# Set on each API request by the validation middleware.
VALIDATED = web.RequestKey("validated", "ValidatedRequest")
WORKER_UUID = web.RequestKey("worker_uuid", str)
