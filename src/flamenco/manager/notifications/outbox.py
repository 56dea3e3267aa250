"""Recording notifications: one outbox row per subscribed destination, in the caller's transaction.

Every event is recorded by a synchronous call inside the write transaction that
made it happen, so the event and its deliveries are committed together or not
at all: a Manager killed right after the commit still delivers after a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager.config.schema import NotificationEvent, NotificationsConfig
from flamenco.manager.notifications import messages
from flamenco.manager.persistence import job_dependencies, notifications
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job, Worker
from flamenco.manager.state_machine import job_graph_rules

logger = logging.getLogger(__name__)

EMAIL_DESTINATION = "email"

_EVENT_OF_JOB_STATUS = {
    JobStatus.COMPLETED: NotificationEvent.JOB_COMPLETED,
    JobStatus.FAILED: NotificationEvent.JOB_FAILED,
}


def destinations_for(settings: NotificationsConfig, event: NotificationEvent) -> list[str]:
    """The names of the webhooks subscribed to `event`, and "email" when mail is."""
    names = [
        webhook.name or webhook.url
        for webhook in settings.webhooks
        if not webhook.events or event in webhook.events
    ]
    email = settings.email
    if email.enabled and (not email.events or event in email.events):
        names.append(EMAIL_DESTINATION)
    return names


class Outbox:
    """Turns farm events into outbox rows for the destinations that want them.

    The approval gates (and any other feature) emit an event with one call
    inside their transaction, e.g.
    `outbox.record_job(conn, NotificationEvent.JOB_WAITING_FOR_APPROVAL, job, now)`.
    """

    def __init__(self, settings: NotificationsConfig, *, manager_name: str) -> None:
        self._settings = settings
        self._manager_name = manager_name
        self._on_recorded: list[Callable[[], None]] = []

    @classmethod
    def disabled(cls) -> Outbox:
        return cls(NotificationsConfig(), manager_name="Flamenco")

    def on_recorded(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the transaction's thread, before its commit) after each record."""
        self._on_recorded.append(callback)

    def job_status_changed(
        self, conn: Connection, job: Job, new_status: JobStatus, now: dt.datetime, *, detail: str
    ) -> None:
        """The state machine's hook: record job-completed or job-failed when a job gets there.

        `job` is as it was before the change; `detail` is its new activity.
        """
        event = _EVENT_OF_JOB_STATUS.get(new_status)
        if event is None or new_status == job.status:
            return
        self.record_job(conn, event, job, now, previous_status=job.status, detail=detail)

    def task_completed(self, conn: Connection, task_id: int, job: Job, now: dt.datetime) -> None:
        """Record job-waiting-for-approval for each approval gate this task's completion opened.

        Looks only when someone subscribed, so that farms without it pay nothing per task.
        """
        if not destinations_for(self._settings, NotificationEvent.JOB_WAITING_FOR_APPROVAL):
            return
        if job.status not in job_graph_rules.APPROVABLE_JOB_STATUSES:
            return
        freed = notifications.fetch_approvals_freed_by(conn, task_id)
        if not freed or job_dependencies.fetch_unfinished_dependencies(conn, job.id):
            return
        for name in freed:
            self.record_job(
                conn,
                NotificationEvent.JOB_WAITING_FOR_APPROVAL,
                job,
                now,
                detail=job_graph_rules.awaiting_approval_message(name),
            )

    def job_may_run(self, conn: Connection, job: Job, now: dt.datetime) -> None:
        """Record job-waiting-for-approval for the gates that wait for a person as soon as the
        job may run: those behind no task, when the job is submitted or its dependencies
        complete. task_completed() reports the others, when their last task completes.
        """
        if not destinations_for(self._settings, NotificationEvent.JOB_WAITING_FOR_APPROVAL):
            return
        if job.status not in job_graph_rules.APPROVABLE_JOB_STATUSES:
            return
        if job_dependencies.fetch_unfinished_dependencies(conn, job.id):
            return
        for approval in job_dependencies.fetch_approval_tasks(conn, job.id):
            if approval.unfinished_dependencies or approval.task.status != TaskStatus.QUEUED:
                continue
            self.record_job(
                conn,
                NotificationEvent.JOB_WAITING_FOR_APPROVAL,
                job,
                now,
                detail=job_graph_rules.awaiting_approval_message(approval.task.name),
            )

    def worker_status_changed(
        self,
        conn: Connection,
        worker: Worker,
        new_status: WorkerStatus,
        now: dt.datetime,
        *,
        detail: str = "",
    ) -> None:
        """Record worker-error when a Worker enters status error (as a timed-out Worker does)."""
        if new_status != WorkerStatus.ERROR or worker.status == WorkerStatus.ERROR:
            return
        self.record_worker(conn, NotificationEvent.WORKER_ERROR, worker, new_status, now, detail)

    def record_job(
        self,
        conn: Connection,
        event: NotificationEvent,
        job: Job,
        now: dt.datetime,
        *,
        previous_status: str = "",
        detail: str = "",
    ) -> None:
        """Record `event` about `job` for every destination subscribed to it."""
        if not (destinations := destinations_for(self._settings, event)):
            return
        payload = messages.job_payload(
            event,
            job,
            manager_name=self._manager_name,
            now=now,
            previous_status=previous_status,
            detail=detail,
        )
        if EMAIL_DESTINATION in destinations and not self._has_recipients(payload):
            destinations.remove(EMAIL_DESTINATION)
        self._record(conn, event, destinations, payload, now)

    def record_worker(
        self,
        conn: Connection,
        event: NotificationEvent,
        worker: Worker,
        status: str,
        now: dt.datetime,
        detail: str = "",
    ) -> None:
        """Record `event` about `worker`, which went to `status`, for its destinations."""
        if not (destinations := destinations_for(self._settings, event)):
            return
        payload = messages.worker_payload(
            event, worker, manager_name=self._manager_name, now=now, status=status, detail=detail
        )
        if EMAIL_DESTINATION in destinations and not self._settings.email.recipients:
            destinations.remove(EMAIL_DESTINATION)
        self._record(conn, event, destinations, payload, now)

    def _has_recipients(self, payload: dict[str, Any]) -> bool:
        email = self._settings.email
        return bool(
            email.recipients or (email.notify_submitter and messages.submitter_email(payload))
        )

    def _record(
        self,
        conn: Connection,
        event: NotificationEvent,
        destinations: list[str],
        payload: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        if not destinations:
            return
        text = json.dumps(payload, ensure_ascii=False)
        notifications.insert(
            conn,
            [
                notifications.NewDelivery(event=event, destination=name, payload=text)
                for name in destinations
            ],
            now,
        )
        logger.info(
            "notification recorded",
            extra={"event": str(event), "destinations": ",".join(destinations)},
        )
        for callback in self._on_recorded:
            callback()
