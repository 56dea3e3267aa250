"""`/flamenco-addon.zip`: the Blender add-on, with Blender Asset Tracer bundled inside it."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from flamenco.manager.api.errors import error_response
from flamenco.manager.web.locations import ADDON_PACKAGE, AddonNotAvailable, addon_source

logger = logging.getLogger(__name__)

ADDON_ZIP_URL = "/flamenco-addon.zip"
# Upstream's name before 3.3; it redirects there permanently, as upstream does.
OLD_ADDON_ZIP_URL = "/flamenco3-addon.zip"

BAT_PACKAGE = "blender_asset_tracer"
BAT_DISTRIBUTION = "blender-asset-tracer"
# Inside the zip; the add-on's bat_loader puts this folder on sys.path.
VENDOR_FOLDER = f"{ADDON_PACKAGE}/vendor"

_SKIPPED_DIRECTORIES = {"__pycache__", "vendor"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class AddonZip:
    data: bytes
    etag: str
    bat_version: str


def _bat_source() -> tuple[Path, str]:
    try:
        import blender_asset_tracer
    except ImportError as error:
        raise AddonNotAvailable(f"Blender Asset Tracer is not installed: {error}") from None
    return Path(blender_asset_tracer.__file__).resolve().parent, str(
        getattr(blender_asset_tracer, "__version__", "unknown")
    )


def _package_files(root: Path) -> Iterator[Path]:
    """Files of a package folder, without caches, compiled files or dot files."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRECTORIES or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in _SKIPPED_SUFFIXES:
            yield path


def _bat_license() -> bytes | None:
    try:
        distribution = importlib.metadata.distribution(BAT_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in distribution.files or []:
        if "license" in file.name.lower():
            return Path(str(distribution.locate_file(file))).read_bytes()
    return None


def build_addon_zip(source: Path | None = None) -> AddonZip:
    """The zip that Blender's "Install Add-on" accepts: one top-level `flamenco/` folder."""
    source = source or addon_source()
    bat_dir, bat_version = _bat_source()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files(source):
            archive.write(path, f"{ADDON_PACKAGE}/{path.relative_to(source).as_posix()}")
        for path in _package_files(bat_dir):
            archive.write(
                path, f"{VENDOR_FOLDER}/{BAT_PACKAGE}/{path.relative_to(bat_dir).as_posix()}"
            )
        license_text = _bat_license()
        if license_text is not None:
            archive.writestr(f"{VENDOR_FOLDER}/LICENSE-blender-asset-tracer.txt", license_text)
        archive.writestr(
            f"{VENDOR_FOLDER}/README.txt",
            f"Blender Asset Tracer {bat_version}, bundled so that the add-on installs without\n"
            "internet access. It packs blend files with their dependencies for the farm.\n",
        )
    data = buffer.getvalue()
    return AddonZip(data=data, etag=hashlib.sha256(data).hexdigest()[:32], bat_version=bat_version)


class _AddonZipCache:
    """Builds the zip once, on the first request, in a thread."""

    def __init__(self) -> None:
        self._zip: AddonZip | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AddonZip:
        async with self._lock:
            if self._zip is None:
                self._zip = await asyncio.to_thread(build_addon_zip)
                logger.info(
                    "built the add-on zip",
                    extra={"size_bytes": len(self._zip.data), "bat_version": self._zip.bat_version},
                )
            return self._zip


ADDON_ZIP_CACHE = web.AppKey("addon_zip_cache", _AddonZipCache)


async def _serve_addon_zip(request: web.Request) -> web.StreamResponse:
    try:
        addon = await request.app[ADDON_ZIP_CACHE].get()
    except AddonNotAvailable as error:
        logger.error("cannot serve the add-on", extra={"reason": str(error)})
        return error_response(404, str(error))
    etag = f'"{addon.etag}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(
        body=addon.data,
        content_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="flamenco-addon.zip"',
            "ETag": etag,
            "Cache-Control": "no-cache",
        },
    )


async def _redirect_old_name(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(ADDON_ZIP_URL)


def setup_routes(app: web.Application) -> None:
    app[ADDON_ZIP_CACHE] = _AddonZipCache()
    app.router.add_get(ADDON_ZIP_URL, _serve_addon_zip)
    app.router.add_get(OLD_ADDON_ZIP_URL, _redirect_old_name)
