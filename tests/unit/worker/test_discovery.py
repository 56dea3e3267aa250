"""Finding a Manager with SSDP, against a tiny responder on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flamenco.worker import discovery


def test_search_request_asks_for_flamenco() -> None:
    request = discovery.search_request().decode()
    assert request.startswith("M-SEARCH * HTTP/1.1\r\n")
    assert "ST: urn:flamenco:manager:0\r\n" in request
    assert 'MAN: "ssdp:discover"' in request


def test_parse_response() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=3600\r\nST: urn:flamenco:manager:0\r\n"
        b"LOCATION: http://192.168.1.5:8080/upnp/description.xml\r\n\r\n"
    )
    assert discovery.parse_response(answer) == "http://192.168.1.5:8080/upnp/description.xml"
    assert discovery.parse_response(answer.replace(b"flamenco", b"other")) is None
    assert discovery.parse_response(b"\xff\xfe") is None
    assert discovery.service_url("http://10.0.0.1:8080/upnp/description.xml") == (
        "http://10.0.0.1:8080/"
    )


class Responder(asyncio.DatagramProtocol):
    """Answers every search with the given locations, like a Manager's SSDP server."""

    def __init__(self, locations: list[str]) -> None:
        self.locations = locations
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        if b"urn:flamenco:manager:0" not in data:
            return
        for location in self.locations:
            self.transport.sendto(
                (
                    "HTTP/1.1 200 OK\r\nST: urn:flamenco:manager:0\r\n"
                    f"LOCATION: {location}\r\nUSN: uuid:test::urn:flamenco:manager:0\r\n\r\n"
                ).encode(),
                addr,
            )


async def test_discover_finds_the_manager_that_answers(manager: Any) -> None:
    loop = asyncio.get_running_loop()
    # The first location answers SSDP but has no Manager behind it.
    locations = [
        "http://127.0.0.1:9/upnp/description.xml",
        manager.base_url + "/upnp/description.xml",
    ]
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Responder(locations), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        found = await discovery.discover(10, target=("127.0.0.1", port))
    finally:
        transport.close()
    assert found == manager.base_url + "/"


async def test_discover_gives_up_after_timeout() -> None:
    with pytest.raises(discovery.DiscoveryFailed, match="no Manager found"):
        await discovery.discover(0.3, target=("127.0.0.1", 9))
