"""Serving the web interface at /app/: its files, its npm libraries, index.html for app routes."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiohttp import web

from flamenco.manager.web import locations
from flamenco.manager.web.locations import STATIC_DIR_ENV

APP_PREFIX = "/app/"
# The import map in index.html refers to the npm libraries under this prefix.
VENDOR_PREFIX = APP_PREFIX + "vendor/"

# ES modules have no content hash in their names, so browsers must revalidate
# every time; FileResponse answers those revalidations with 304.
CACHE_CONTROL = "no-cache"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

_MISSING_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Flamenco Manager</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 3em auto;
line-height: 1.5; padding: 0 1em; }} code {{ background: #eee; padding: 0 .25em; }}</style>
</head><body>
<h1>Flamenco Manager</h1>
<p><strong>The web interface cannot be shown:</strong> {problem}</p>
<p>{remedy}</p>
<p>The Manager itself is running: Workers and the Blender add-on can use it, and the
API can be explored in the <a href="/api/v3/swagger-ui/">API explorer</a>.</p>
</body></html>
"""


@dataclass(frozen=True, slots=True)
class _Found:
    path: Path | None = None
    problem_page: str | None = None


class WebAppFiles:
    """Finds the files to serve for a path under /app/, refusing anything outside static/."""

    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir.resolve()
        self.modules_dir = self.static_dir / "node_modules"

    def locate(self, relative: str) -> _Found:
        """Blocking file-system work; run it in a thread."""
        if not (self.static_dir / "index.html").is_file():
            return _Found(problem_page=self._missing_static_page())
        parts = PurePosixPath(relative).parts
        if any(part.startswith(".") for part in parts):
            return _Found()
        if parts[:1] == ("vendor",):
            return self._locate_vendor(parts[1:])
        if parts[:1] == ("node_modules",):
            return _Found()
        candidate = self._inside(self.static_dir, parts)
        if candidate is not None and candidate.is_file():
            return _Found(path=candidate)
        if parts and "." in parts[-1]:
            # A missing file, not an app route: answering with index.html would
            # only produce a confusing error about the wrong content type.
            return _Found()
        if not self._libraries_installed():
            return _Found(problem_page=self._missing_libraries_page())
        return _Found(path=self.static_dir / "index.html")

    def _locate_vendor(self, parts: tuple[str, ...]) -> _Found:
        package_parts = 2 if parts[:1] and parts[0].startswith("@") else 1
        package = "/".join(parts[:package_parts])
        if package not in self._dependencies():
            return _Found()
        candidate = self._inside(self.modules_dir, parts)
        if candidate is not None and candidate.is_file():
            return _Found(path=candidate)
        return _Found()

    @staticmethod
    def _inside(root: Path, parts: tuple[str, ...]) -> Path | None:
        candidate = root.joinpath(*parts).resolve()
        return candidate if candidate.is_relative_to(root) else None

    def _dependencies(self) -> set[str]:
        try:
            manifest = json.loads((self.static_dir / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        dependencies = manifest.get("dependencies") if isinstance(manifest, dict) else None
        return set(dependencies) if isinstance(dependencies, dict) else set()

    def _libraries_installed(self) -> bool:
        return all((self.modules_dir / name).is_dir() for name in self._dependencies())

    def _missing_static_page(self) -> str:
        return _MISSING_PAGE.format(
            problem="its files are not installed next to this Manager (looked in "
            f"<code>{html.escape(str(self.static_dir))}</code>).",
            remedy="Install the Manager from a wheel built with <code>python -m build</code> "
            "(it carries the web interface), run it from a source checkout "
            "(<code>./farm</code> sets everything up), or set the environment variable "
            f"<code>{STATIC_DIR_ENV}</code> to the <code>static</code> folder of one.",
        )

    def _missing_libraries_page(self) -> str:
        return _MISSING_PAGE.format(
            problem="its JavaScript libraries are not installed (no "
            f"<code>{html.escape(str(self.modules_dir))}</code>).",
            remedy="Install them with <code>npm ci</code> in "
            f"<code>{html.escape(str(self.static_dir))}</code> (needs Node.js and npm); "
            "<code>./farm</code> does this for you. Then reload this page.",
        )


async def _redirect_to_app(request: web.Request) -> web.Response:
    raise web.HTTPTemporaryRedirect(APP_PREFIX)


def _make_handler(
    files: WebAppFiles,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        found = await asyncio.to_thread(files.locate, request.match_info.get("path", ""))
        if found.problem_page is not None:
            return web.Response(
                text=found.problem_page,
                status=503,
                content_type="text/html",
                headers={"Cache-Control": "no-store"},
            )
        if found.path is None:
            raise web.HTTPNotFound(text="No such file in the web interface.")
        headers = {"Cache-Control": CACHE_CONTROL}
        content_type = CONTENT_TYPES.get(found.path.suffix)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return web.FileResponse(found.path, headers=headers)

    return serve


def setup_web_app_routes(app: web.Application, static_dir: Path | None = None) -> None:
    files = WebAppFiles(static_dir or locations.static_dir())
    app.router.add_get("/", _redirect_to_app)
    app.router.add_get("/app", _redirect_to_app)
    app.router.add_get(APP_PREFIX + "{path:.*}", _make_handler(files))
