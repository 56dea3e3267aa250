"""Middleware that checks every API request against the spec, and authenticates Workers."""

from __future__ import annotations

import base64
import binascii
import logging

from aiohttp import web

from flamenco.manager import keys
from flamenco.manager.api import openapi
from flamenco.manager.api.errors import API_PREFIX, Handler, error_response
from flamenco.manager.persistence import errors as persistence_errors

logger = logging.getLogger(__name__)


@web.middleware
async def validation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    route = request.match_info.route
    operation = request.app[keys.SPEC].operations.get(route.name or "")
    if operation is None:
        # Not an operation of the spec: the served spec itself, Swagger UI, or a 404/405.
        return await handler(request)

    # Credentials first: a stranger learns nothing about its request, and its body
    # costs no reading or parsing.
    if operation.needs_worker_auth:
        refusal = await _authenticate_worker(request)
        if refusal is not None:
            return refusal

    path, headers, query = openapi.validate_parameters(
        operation, request.match_info, request.headers, request.query
    )
    body = None
    if operation.json_body is not None:
        # Clients that send no Content-Type at all get the benefit of the doubt.
        if request.content_type not in (openapi.JSON_CONTENT_TYPE, "application/octet-stream"):
            raise openapi.RequestInvalid(
                f"request body must be {openapi.JSON_CONTENT_TYPE}, not {request.content_type}",
                status=415,
            )
        body = openapi.parse_json_body(operation, await request.read())
    elif operation.raw_content_types and request.content_type not in operation.raw_content_types:
        allowed = ", ".join(sorted(operation.raw_content_types))
        raise openapi.RequestInvalid(
            f"unsupported content type {request.content_type!r}, expected {allowed}", status=415
        )
    request[keys.VALIDATED] = openapi.ValidatedRequest(operation, path, headers, query, body)

    if not operation.needs_worker_auth:
        return await handler(request)
    try:
        return await handler(request)
    except persistence_errors.WorkerNotFound:
        # Worker operations only ever look up the Worker that sent them: it was
        # deleted after its credentials were checked, perhaps by another Manager
        # process. It gets what a deleted Worker gets, so that it registers anew.
        request.app[keys.WORKERS].forget_credentials(request[keys.WORKER_UUID])
        return _refuse_worker(request[keys.WORKER_UUID])


async def _authenticate_worker(request: web.Request) -> web.Response | None:
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        return error_response(403, "worker authentication required (HTTP basic auth)")
    worker_uuid, secret = credentials
    if not await request.app[keys.WORKERS].authenticate(worker_uuid, secret):
        return _refuse_worker(worker_uuid)
    request[keys.WORKER_UUID] = worker_uuid
    return None


def _refuse_worker(worker_uuid: str) -> web.Response:
    logger.info("worker authentication failed", extra={"worker": worker_uuid})
    return error_response(403, "unknown worker or wrong secret")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator or not username:
        return None
    return username, password
