"""Handlers for the notification outbox (extension): recent deliveries, and retrying one."""

from __future__ import annotations

import json

from aiohttp import web

from flamenco.api import wire
from flamenco.manager import keys
from flamenco.manager.api.errors import error_response
from flamenco.manager.notifications.delivery import NotRetryable
from flamenco.manager.persistence.notifications import Delivery

DEFAULT_LIMIT = 100


async def fetch_notification_deliveries(request: web.Request) -> web.Response:
    query = request[keys.VALIDATED].query
    service = request.app[keys.NOTIFICATION_DELIVERY]
    deliveries = await service.fetch_recent(
        limit=int(query.get("limit", DEFAULT_LIMIT)), status=str(query.get("status", ""))
    )
    return web.json_response(
        {
            "deliveries": [delivery_to_json(delivery) for delivery in deliveries],
            "destinations": service.destinations(),
        }
    )


async def retry_notification_delivery(request: web.Request) -> web.Response:
    delivery_id = int(request[keys.VALIDATED].path["delivery_id"])
    try:
        delivery = await request.app[keys.NOTIFICATION_DELIVERY].retry(delivery_id)
    except NotRetryable as error:
        return error_response(409, str(error))
    return web.json_response(delivery_to_json(delivery))


def delivery_to_json(delivery: Delivery) -> dict[str, object]:
    payload = json.loads(delivery.payload)
    return {
        "id": delivery.id,
        "created": wire.format_time(delivery.created_at),
        "event": delivery.event,
        "destination": delivery.destination,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "next_attempt": wire.optional_time(delivery.next_attempt_at),
        "last_attempt": wire.optional_time(delivery.last_attempt_at),
        "delivered": wire.optional_time(delivery.delivered_at),
        "last_error": delivery.last_error,
        "summary": str(payload.get("summary", "")),
        "job_id": str((payload.get("job") or {}).get("id", "")),
        "worker_id": str((payload.get("worker") or {}).get("id", "")),
    }
