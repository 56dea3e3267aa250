"""Handlers for the `shaman` tag: file uploads and job checkouts."""

from __future__ import annotations

from aiohttp import web

from flamenco.manager import config, keys
from flamenco.manager.api.errors import error_response


def _unavailable(request: web.Request) -> web.Response:
    if not config.effective_shaman_enabled(request.app[keys.CONFIG]):
        return error_response(
            503, "shaman server not active: Shaman is disabled in the configuration"
        )
    return error_response(
        501, "Shaman file storage is not implemented yet: it arrives with the Shaman issue"
    )


async def shaman_checkout_requirements(request: web.Request) -> web.Response:
    return _unavailable(request)


async def shaman_checkout(request: web.Request) -> web.Response:
    return _unavailable(request)


async def shaman_file_store_check(request: web.Request) -> web.Response:
    return _unavailable(request)


async def shaman_file_store(request: web.Request) -> web.Response:
    return _unavailable(request)
