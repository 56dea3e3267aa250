"""The Swagger UI page for exploring the API, served from the swagger-ui-bundle package."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from aiohttp import web

SWAGGER_UI_PREFIX = "/api/v3/swagger-ui/"
SPEC_URL = "/api/v3/openapi3.json"

_INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Flamenco Manager API</title>
  <link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "{spec_url}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    });
  </script>
</body>
</html>
""".replace("{spec_url}", SPEC_URL)


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=_INDEX_HTML, content_type="text/html")


async def _redirect_to_index(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(SWAGGER_UI_PREFIX)


def setup_routes(app: web.Application) -> None:
    app.router.add_get(SWAGGER_UI_PREFIX, _index)
    app.router.add_get(SWAGGER_UI_PREFIX.rstrip("/"), _redirect_to_index)
    app.router.add_static(SWAGGER_UI_PREFIX, Path(swagger_ui_bundle.swagger_ui_path))
