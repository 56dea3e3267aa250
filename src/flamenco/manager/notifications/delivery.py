"""The delivery service: attempts due outbox rows, records each outcome, backs off on failure.

It runs as one of the farm's duties, so that with `--processes N` only the
leading process delivers: each message is attempted by one process at a time.
Delivery is at least once: a Manager killed after a receiver accepted a message
but before recording it sends it again after the restart, with the same
X-Flamenco-Delivery header so that receivers can recognise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
from typing import Any

import aiohttp

from flamenco import __version__
from flamenco.clock import Clock
from flamenco.manager.config.schema import NotificationsConfig, WebhookConfig
from flamenco.manager.notifications import formats, mail, retries, signing
from flamenco.manager.notifications.outbox import EMAIL_DESTINATION
from flamenco.manager.persistence import Database, notifications
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.notifications import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# Deliveries taken per pass, and how many of them are in flight at once.
BATCH_SIZE = 50
CONCURRENT_DELIVERIES = 8
# How much of a refusing receiver's answer is kept as the delivery's error.
ERROR_TEXT_LIMIT = 300
CLEAN_UP_PERIOD = dt.timedelta(hours=1)


class DeliveryFailed(Exception):
    """One attempt failed; the message says why, for the web interface."""


class DeliveryService:
    """Delivers what the Outbox recorded, oldest first, until each is delivered or given up."""

    def __init__(self, db: Database, settings: NotificationsConfig, clock: Clock) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._webhooks = {webhook.name or webhook.url: webhook for webhook in settings.webhooks}
        self._woken = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._cleaned_at: dt.datetime | None = None

    def wake(self) -> None:
        """Look at the outbox soon; safe to call from any thread (the Outbox's callback)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._woken.set)

    def destinations(self) -> list[dict[str, Any]]:
        """The configured destinations, without URLs and secrets (chat webhook URLs are secret)."""
        listed: list[dict[str, Any]] = [
            {
                "name": name,
                "kind": "webhook",
                "format": str(webhook.format),
                "events": list(webhook.events),
            }
            for name, webhook in self._webhooks.items()
        ]
        if self._settings.email.enabled:
            events = list(self._settings.email.events)
            listed.append(
                {"name": EMAIL_DESTINATION, "kind": "email", "format": "email", "events": events}
            )
        return listed

    async def fetch_recent(self, *, limit: int, status: str = "") -> list[Delivery]:
        return await self._db.read(
            functools.partial(notifications.fetch_recent, limit=limit, status=status)
        )

    async def retry(self, delivery_id: int) -> Delivery:
        """Make a failed delivery pending and due now; NotRetryable when it has not failed."""
        delivery = await self._db.write(
            functools.partial(_retry, delivery_id=delivery_id, now=self._clock.now())
        )
        # In another process, the leader finds it at its next look at the outbox.
        self.wake()
        return delivery

    @property
    def has_destinations(self) -> bool:
        return bool(self._webhooks) or self._settings.email.enabled

    async def run(self) -> None:
        configured = set(self._webhooks)
        if self._settings.email.enabled:
            configured.add(EMAIL_DESTINATION)
        await self._db.write(
            functools.partial(
                notifications.make_unconfigured_due, configured=configured, now=self._clock.now()
            )
        )
        if not self.has_destinations:
            # Nothing is recorded without destinations; what an earlier configuration
            # left pending is marked failed, visibly, instead of waiting forever.
            await self.deliver_due()
            return
        self._loop = asyncio.get_running_loop()
        timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout.total_seconds())
        async with aiohttp.ClientSession(
            timeout=timeout, headers={"User-Agent": f"Flamenco/{__version__}"}
        ) as session:
            self._session = session
            try:
                while True:
                    if self._woken.is_set():
                        # The wake-up came from inside a transaction: an empty write,
                        # queued behind it on SQLite's one writer, waits for its commit.
                        self._woken.clear()
                        await self._db.write(_nothing)
                    await self.deliver_due()
                    await self._clean_up()
                    await self._wait_for_work()
            finally:
                self._session = None
                self._loop = None

    async def deliver_due(self) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        attempted = 0
        while True:
            due = await self._db.read(
                functools.partial(_fetch_due, now=self._clock.now(), limit=BATCH_SIZE)
            )
            if not due:
                return attempted
            limit = asyncio.Semaphore(CONCURRENT_DELIVERIES)
            await asyncio.gather(*(self._attempt_within(limit, delivery) for delivery in due))
            attempted += len(due)
            if len(due) < BATCH_SIZE:
                return attempted

    async def _attempt_within(self, limit: asyncio.Semaphore, delivery: Delivery) -> None:
        async with limit:
            await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            await self._send(delivery)
        except DeliveryFailed as error:
            await self._record_failure(delivery, str(error))
            return
        except Exception as error:
            # A bug in making the message (a payload from a newer Manager, say) fails
            # this delivery, visibly, rather than the whole Manager.
            logger.exception("notification could not be sent", extra={"delivery": delivery.id})
            await self._record_failure(delivery, f"{type(error).__name__}: {error}")
            return
        now = self._clock.now()
        await self._db.write(
            functools.partial(
                notifications.save_attempt,
                delivery_id=delivery.id,
                status=DeliveryStatus.DELIVERED,
                now=now,
                next_attempt_at=None,
                error="",
            )
        )
        logger.info(
            "notification delivered",
            extra={"delivery": delivery.id, "destination": delivery.destination},
        )

    async def _record_failure(self, delivery: Delivery, error: str) -> None:
        attempts = delivery.attempts + 1
        now = self._clock.now()
        settings = self._settings
        if retries.gives_up(attempts, settings.max_attempts) or error.startswith(_UNKNOWN):
            status, next_attempt = DeliveryStatus.FAILED, None
        else:
            delay = retries.next_delay(attempts, settings.retry_delay, settings.retry_max_delay)
            status, next_attempt = DeliveryStatus.PENDING, now + delay
        await self._db.write(
            functools.partial(
                notifications.save_attempt,
                delivery_id=delivery.id,
                status=status,
                now=now,
                next_attempt_at=next_attempt,
                error=error[:ERROR_TEXT_LIMIT],
            )
        )
        logger.warning(
            "notification not delivered",
            extra={
                "delivery": delivery.id,
                "destination": delivery.destination,
                "attempts": attempts,
                "error": error,
                "gave_up": status == DeliveryStatus.FAILED,
            },
        )

    async def _send(self, delivery: Delivery) -> None:
        payload: dict[str, Any] = json.loads(delivery.payload)
        if delivery.destination == EMAIL_DESTINATION and self._settings.email.enabled:
            try:
                await mail.send(
                    self._settings.email,
                    payload,
                    timeout=self._settings.request_timeout.total_seconds(),
                )
            except mail.MailFailed as error:
                raise DeliveryFailed(str(error)) from error
            return
        webhook = self._webhooks.get(delivery.destination)
        if webhook is None:
            raise DeliveryFailed(f"{_UNKNOWN}: {delivery.destination!r} is no longer configured")
        await self._post(webhook, delivery, payload)

    async def _post(
        self, webhook: WebhookConfig, delivery: Delivery, payload: dict[str, Any]
    ) -> None:
        assert self._session is not None, "deliveries are only sent while the service runs"
        body = formats.webhook_body(webhook.format, payload)
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_HEADER: delivery.event,
            signing.DELIVERY_HEADER: str(delivery.id),
            signing.TIMESTAMP_HEADER: timestamp,
        }
        if webhook.secret:
            headers[signing.SIGNATURE_HEADER] = signing.signature(webhook.secret, timestamp, body)
        try:
            async with self._session.post(webhook.url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return
                text = (await response.text(errors="replace")).strip()
                raise DeliveryFailed(
                    f"HTTP {response.status}: {text[:ERROR_TEXT_LIMIT]}".rstrip(": ")
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}".rstrip(": ")) from error

    async def _clean_up(self) -> None:
        now = self._clock.now()
        if self._cleaned_at is not None and now - self._cleaned_at < CLEAN_UP_PERIOD:
            return
        self._cleaned_at = now
        removed = await self._db.write(
            functools.partial(
                notifications.delete_finished_before, before=now - self._settings.keep_deliveries
            )
        )
        if removed:
            logger.info("old notification deliveries removed", extra={"count": removed})

    async def _wait_for_work(self) -> None:
        """Until the next delivery is due, something new is recorded, or it is time to poll.

        Polling finds what other processes recorded (only the leader delivers).
        """
        wait = self._settings.poll_interval.total_seconds()
        next_attempt = await self._db.read(notifications.fetch_next_attempt)
        if next_attempt is not None:
            wait = max(0.0, min(wait, (next_attempt - self._clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout=wait)


_UNKNOWN = "unknown destination"


class NotRetryable(Exception):
    """Only a failed delivery can be retried; pending and delivered ones are left alone."""


def _retry(conn: Connection, *, delivery_id: int, now: dt.datetime) -> Delivery:
    before = notifications.fetch(conn, delivery_id)
    if before.status != DeliveryStatus.FAILED:
        raise NotRetryable(
            f"notification delivery {delivery_id} is {before.status}; only failed ones are retried"
        )
    return notifications.retry(conn, delivery_id, now)


def _nothing(conn: Connection) -> None:
    pass


def _fetch_due(conn: Connection, *, now: dt.datetime, limit: int) -> list[Delivery]:
    return notifications.fetch_due(conn, now, limit)
