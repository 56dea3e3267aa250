"""Serving the web interface at /app/, with a fallback to index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

APP_PREFIX = "/app/"

# The web UI's files live in static/ at the top of the source tree.
STATIC_DIR = Path(__file__).resolve().parents[3] / "static"

_PLACEHOLDER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Flamenco Manager</title></head>
<body>
<h1>Flamenco Manager</h1>
<p>The web interface files are not installed next to this Manager
(expected in <code>%s</code>).</p>
<p>The API is available: see the <a href="/api/v3/swagger-ui/">API explorer</a>.</p>
</body></html>
"""


async def _redirect_to_app(request: web.Request) -> web.Response:
    raise web.HTTPTemporaryRedirect(APP_PREFIX)


async def _serve_app(request: web.Request) -> web.StreamResponse:
    relative = request.match_info.get("path", "")
    if STATIC_DIR.is_dir():
        candidate = (STATIC_DIR / relative).resolve()
        if candidate.is_relative_to(STATIC_DIR) and candidate.is_file():
            return web.FileResponse(candidate)
        index = STATIC_DIR / "index.html"
        if index.is_file():
            return web.FileResponse(index)
    return web.Response(text=_PLACEHOLDER % STATIC_DIR, content_type="text/html")


def setup_web_app_routes(app: web.Application) -> None:
    app.router.add_get("/", _redirect_to_app)
    app.router.add_get("/app", _redirect_to_app)
    app.router.add_get(APP_PREFIX + "{path:.*}", _serve_app)
