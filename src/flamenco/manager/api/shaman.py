"""Handlers for the `shaman` tag: file uploads and job checkouts, delegating to flamenco.shaman."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from flamenco.manager import keys
from flamenco.manager.errors import disk_full_as
from flamenco.shaman import FileKey, Shaman, StoreOutcome, encoded_words, errors

logger = logging.getLogger(__name__)

CAN_DEFER_HEADER = "X-Shaman-Can-Defer-Upload"
ORIGINAL_FILENAME_HEADER = "X-Shaman-Original-Filename"


def _shaman(request: web.Request) -> Shaman:
    shaman = request.app[keys.SHAMAN]
    if shaman is not None:
        return shaman
    loaded = request.app[keys.CONFIG]
    if loaded.config.shaman.enabled and loaded.is_first_run:
        raise errors.ShamanDisabled(
            "shaman server not active: the Manager is not set up yet (first run), "
            "so it has no shared storage for Shaman"
        )
    raise errors.ShamanDisabled()


def _disk_full_as(shaman: Shaman) -> contextlib.AbstractContextManager[None]:
    storage = shaman.settings.storage_path
    return disk_full_as(f"the Shaman storage {storage}", storage)


async def shaman_checkout_requirements(request: web.Request) -> web.Response:
    shaman = _shaman(request)
    body: dict[str, Any] = request[keys.VALIDATED].body
    missing = await shaman.requirements(body["files"])
    return web.json_response({"files": missing})


async def shaman_checkout(request: web.Request) -> web.Response:
    shaman = _shaman(request)
    body: dict[str, Any] = request[keys.VALIDATED].body
    with _disk_full_as(shaman):
        checkout_path = await shaman.checkout(body["checkoutPath"], body["files"])
    return web.json_response({"checkoutPath": checkout_path})


async def shaman_file_store_check(request: web.Request) -> web.Response:
    shaman = _shaman(request)
    path = request[keys.VALIDATED].path
    status = await shaman.file_status(FileKey.parse(path["checksum"], path["filesize"]))
    return web.json_response({"status": status.value})


async def shaman_file_store(request: web.Request) -> web.Response:
    shaman = _shaman(request)
    validated = request[keys.VALIDATED]
    key = FileKey.parse(validated.path["checksum"], validated.path["filesize"])
    can_defer = bool(validated.headers.get(CAN_DEFER_HEADER, False))
    original_filename = encoded_words.decode_header(
        validated.headers.get(ORIGINAL_FILENAME_HEADER, "")
    )
    with _disk_full_as(shaman):
        outcome = await shaman.store_file(
            key,
            _body_chunks(request),
            can_defer=can_defer,
            original_filename=original_filename,
        )
    if outcome is StoreOutcome.ALREADY_STORED:
        return web.Response(status=208)
    if outcome is StoreOutcome.DEFERRED:
        return web.json_response(
            {"code": 425, "message": "file is being uploaded by someone else, try again later"},
            status=425,
        )
    # Upstream answers 200 here; the spec, and so the add-on, expect 204.
    return web.Response(status=204)


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away is an UploadInterrupted."""
    try:
        async for chunk in request.content.iter_any():
            yield chunk
    except (aiohttp.ClientPayloadError, ConnectionError, EOFError) as error:
        raise errors.UploadInterrupted(
            f"upload interrupted: the request body ended early ({error})"
        ) from error
