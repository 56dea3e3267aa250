"""The UPnP device description that the Manager's SSDP answers point Workers to."""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from flamenco import FLAMENCO_API_VERSION
from flamenco.manager.services.upnp_ssdp import DESCRIPTION_PATH, DEVICE_UUID, SERVICE_TYPE


def description_xml(manager_name: str, base_url: str) -> str:
    """The UPnP device description that SSDP answers point to."""
    name = escape(f"Flamenco {FLAMENCO_API_VERSION} ({manager_name})")
    return f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <URLBase>{escape(base_url)}</URLBase>
  <device>
    <deviceType>{SERVICE_TYPE}</deviceType>
    <friendlyName>{name}</friendlyName>
    <manufacturer>Blender</manufacturer>
    <modelName>Flamenco</modelName>
    <UDN>uuid:{DEVICE_UUID}</UDN>
    <presentationURL>/</presentationURL>
  </device>
</root>
"""


def setup_routes(app: web.Application, manager_name: str) -> None:
    async def serve_description(request: web.Request) -> web.Response:
        base_url = f"{request.scheme}://{request.host}/"
        return web.Response(text=description_xml(manager_name, base_url), content_type="text/xml")

    app.router.add_get(DESCRIPTION_PATH, serve_description)
