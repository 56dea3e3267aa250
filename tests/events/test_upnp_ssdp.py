"""UPnP/SSDP on loopback: a Worker's discovery finds a Manager's announcement."""

from __future__ import annotations

import socket

from conftest import ConfigMaker
from flamenco.manager.services.upnp_ssdp import (
    DEVICE_UUID,
    SERVICE_TYPE,
    parse_search,
)
from flamenco.manager.web.upnp_description import description_xml
from flamenco.worker import discovery
from support.manager import run_manager


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_worker_discovery_finds_the_manager(make_manager_config: ConfigMaker) -> None:
    http_port = free_port()
    ssdp_port = free_port(socket.SOCK_DGRAM)
    loaded = make_manager_config(autodiscoverable=True, listen=f"127.0.0.1:{http_port}")
    async for running in run_manager(loaded, port=http_port, ssdp_port=ssdp_port):
        found = await discovery.discover(10, target=("127.0.0.1", ssdp_port))
        assert found == f"http://127.0.0.1:{http_port}/"
        description = await running.client.get("/upnp/description.xml", expect=200)
        assert f"<UDN>uuid:{DEVICE_UUID}</UDN>" in description.text
        assert SERVICE_TYPE in description.text


async def test_not_autodiscoverable_means_no_announcement(make_manager_config: ConfigMaker) -> None:
    loaded = make_manager_config(autodiscoverable=False)
    async for running in run_manager(loaded):
        await running.client.get("/upnp/description.xml", expect=404)


def test_parse_search() -> None:
    search = discovery.search_request(("239.255.255.250", 1900))
    assert parse_search(search) == SERVICE_TYPE
    assert parse_search(b"NOTIFY * HTTP/1.1\r\nNT: x\r\n\r\n") is None
    assert parse_search(b"\xff\xfe") is None


def test_description_escapes_the_name() -> None:
    assert "Farm &lt;1&gt;" in description_xml("Farm <1>", "http://x/")
