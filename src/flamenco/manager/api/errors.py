"""Turning every failure of an API request into the spec's JSON Error body."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from flamenco.manager import config, job_compilers, keys
from flamenco.manager.errors import DiskFull, RequestRefused, is_disk_full
from flamenco.manager.persistence import errors as persistence_errors
from flamenco.shaman import errors as shaman_errors

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v3"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(
    status: int, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status, headers=headers)


# Errors of the parts below the API that mean the same thing wherever they come
# from; the Manager's own refusals carry their status (errors.RequestRefused).
_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (config.ConfigError, 400),
    (persistence_errors.NotFound, 404),
    (job_compilers.JobTypeEtagMismatch, 412),
    (job_compilers.JobCompilerError, 400),
    (shaman_errors.ShamanDisabled, 503),
    (shaman_errors.InvalidRequest, 400),
    (shaman_errors.UploadMismatch, 417),
    (shaman_errors.CheckoutExists, 409),
    (shaman_errors.MissingFiles, 424),
)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer API errors with JSON; other paths keep aiohttp's own error pages."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except persistence_errors.DatabaseBusy:
        logger.warning("database busy", extra={"path": request.path})
        return error_response(
            503, "the database is busy, try again later", headers={"Retry-After": "1"}
        )
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        message = http_error.text if http_error.content_type == "text/plain" else None
        return error_response(
            http_error.status,
            (message or http_error.reason).strip(),
            headers=_allow_header(http_error),
        )
    except DiskFull as full:
        return _disk_full(request, full)
    except RequestRefused as refusal:
        return error_response(refusal.status, refusal.message)
    except Exception as error:
        if is_disk_full(error):
            return _disk_full(request, _where(error))
        for error_type, status in _STATUS_BY_ERROR:
            if isinstance(error, error_type):
                return error_response(status, getattr(error, "message", None) or str(error))
        logger.exception("unexpected error handling API request", extra={"path": request.path})
        return error_response(500, f"internal error: {type(error).__name__}")


def _disk_full(request: web.Request, full: DiskFull) -> web.Response:
    # Logged once per episode there, not once per refused request.
    request.app[keys.DISK_SPACE].report(full)
    return error_response(full.status, full.message)


def _where(error: BaseException) -> DiskFull:
    """A full disk met where no part of the Manager named the place: name the file."""
    filename = getattr(error, "filename", None)
    if not filename:
        return DiskFull("the Manager's storage")
    folder = Path(os.fsdecode(filename)).parent
    return DiskFull(f"the folder {folder}", directory=folder)


def _allow_header(http_error: web.HTTPException) -> dict[str, str] | None:
    allow = http_error.headers.get("Allow")
    return {"Allow": allow} if allow else None
