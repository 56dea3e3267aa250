"""The notification outbox: deliveries recorded with their event, then attempted until done."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from flamenco.manager.persistence.connection import Connection, Row
from flamenco.manager.persistence.errors import NotFound
from flamenco.manager.persistence.models import from_db_time, optional_time, to_db_time


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Out of attempts, or its destination is no longer configured; an operator may retry it.
    FAILED = "failed"


class DeliveryNotFound(NotFound):
    """No notification delivery has this ID (it may have been cleaned up)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDelivery:
    event: str
    destination: str
    payload: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    id: int
    created_at: dt.datetime
    event: str
    destination: str
    payload: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_error: str

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        return cls(
            id=row["id"],
            created_at=from_db_time(row["created_at"]),
            event=row["event"],
            destination=row["destination"],
            payload=row["payload"],
            status=DeliveryStatus(row["status"]),
            attempts=row["attempts"],
            next_attempt_at=optional_time(row["next_attempt_at"]),
            last_attempt_at=optional_time(row["last_attempt_at"]),
            delivered_at=optional_time(row["delivered_at"]),
            last_error=row["last_error"],
        )


def insert(conn: Connection, deliveries: Iterable[NewDelivery], now: dt.datetime) -> None:
    """Record deliveries, due at once, in the caller's transaction."""
    conn.executemany(
        "insert_notification_delivery",
        [
            {
                "now": to_db_time(now),
                "event": delivery.event,
                "destination": delivery.destination,
                "payload": delivery.payload,
            }
            for delivery in deliveries
        ],
    )


def fetch_due(conn: Connection, now: dt.datetime, limit: int) -> list[Delivery]:
    rows = conn.execute(
        "fetch_due_notification_deliveries", {"now": to_db_time(now), "limit": limit}
    )
    return [Delivery.from_row(row) for row in rows]


def make_unconfigured_due(conn: Connection, configured: set[str], now: dt.datetime) -> int:
    """Make pending deliveries to destinations not in `configured` due now.

    Their next attempt fails them visibly at once, instead of after a backoff
    that an earlier configuration set (up to hours).
    """
    pending = [row[0] for row in conn.execute("fetch_pending_notification_destinations")]
    made_due = 0
    for destination in pending:
        if destination not in configured:
            made_due += conn.execute(
                "make_pending_notification_deliveries_due",
                {"destination": destination, "now": to_db_time(now)},
            ).rowcount
    return made_due


def fetch_next_attempt(conn: Connection) -> dt.datetime | None:
    """When the earliest pending delivery is due; None when nothing is pending."""
    row = conn.execute("fetch_next_notification_attempt").fetchone()
    return optional_time(row[0]) if row is not None else None


def save_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    status: DeliveryStatus,
    now: dt.datetime,
    next_attempt_at: dt.datetime | None,
    error: str,
) -> None:
    conn.execute(
        "save_notification_attempt",
        {
            "id": delivery_id,
            "status": status,
            "now": to_db_time(now),
            "next_attempt_at": None if next_attempt_at is None else to_db_time(next_attempt_at),
            "delivered_at": to_db_time(now) if status == DeliveryStatus.DELIVERED else None,
            "last_error": error,
        },
    )


def fetch_recent(conn: Connection, *, limit: int, status: str = "") -> list[Delivery]:
    rows = conn.execute("fetch_recent_notification_deliveries", {"limit": limit, "status": status})
    return [Delivery.from_row(row) for row in rows]


def fetch(conn: Connection, delivery_id: int) -> Delivery:
    row = conn.execute("fetch_notification_delivery", {"id": delivery_id}).fetchone()
    if row is None:
        raise DeliveryNotFound(f"notification delivery {delivery_id} not found")
    return Delivery.from_row(row)


def retry(conn: Connection, delivery_id: int, now: dt.datetime) -> Delivery:
    """Make a failed delivery pending and due now; other deliveries stay as they are."""
    fetch(conn, delivery_id)
    conn.execute("retry_notification_delivery", {"id": delivery_id, "now": to_db_time(now)})
    return fetch(conn, delivery_id)


def delete_finished_before(conn: Connection, before: dt.datetime) -> int:
    return conn.execute(
        "delete_finished_notification_deliveries", {"before": to_db_time(before)}
    ).rowcount


def fetch_approvals_freed_by(conn: Connection, task_id: int) -> list[str]:
    """Names of the approval tasks that completing `task_id` left waiting for a person."""
    rows = conn.execute("fetch_approvals_freed_by_task", {"task_id": task_id})
    return [str(row["name"]) for row in rows]
