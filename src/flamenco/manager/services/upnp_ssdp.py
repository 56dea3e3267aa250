"""UPnP/SSDP: announcing the Manager on the local network so Workers can find it."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

from flamenco import FLAMENCO_API_VERSION

logger = logging.getLogger(__name__)

SERVICE_TYPE = "urn:flamenco:manager:0"
# Fixed, as upstream's: every Flamenco Manager is "the same kind of device".
DEVICE_UUID = "aa80bc5f-d0af-46b8-8630-23bd7e80ec4d"
MULTICAST_GROUP = "239.255.255.250"
SSDP_PORT = 1900
MAX_AGE_SECONDS = 3600
DESCRIPTION_PATH = "/upnp/description.xml"
# Announce well within MaxAge, so listeners never forget us.
NOTIFY_INTERVAL_SECONDS = MAX_AGE_SECONDS / 3
SEARCH_TARGETS = frozenset({SERVICE_TYPE, "ssdp:all", "upnp:rootdevice", f"uuid:{DEVICE_UUID}"})
SERVER = f"Flamenco/{FLAMENCO_API_VERSION} UPnP/1.0"


def parse_search(data: bytes) -> str | None:
    """The search target of an M-SEARCH request, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    request_line, _, rest = text.partition("\r\n")
    if not request_line.upper().startswith("M-SEARCH"):
        return None
    for line in rest.split("\r\n"):
        name, separator, value = line.partition(":")
        if separator and name.strip().upper() == "ST":
            return value.strip()
    return None


def local_address_towards(host: str) -> str:
    """The address of this machine on the route to `host`: what `host` can reach us at."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))  # UDP connect sends nothing; it only picks a route.
        return str(probe.getsockname()[0])


class SSDPServer(asyncio.DatagramProtocol):
    def __init__(self, *, http_port: int, listen_host: str | None, port: int = SSDP_PORT) -> None:
        self._http_port = http_port
        self._listen_host = listen_host
        self._port = port
        self._transport: asyncio.DatagramTransport | None = None

    def location_for(self, requester: str) -> str:
        host = self._listen_host or local_address_towards(requester)
        return f"http://{host}:{self._http_port}{DESCRIPTION_PATH}"

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        target = parse_search(data)
        if target is None or target not in SEARCH_TARGETS or self._transport is None:
            return
        host = str(addr[0])
        answer = (
            "HTTP/1.1 200 OK\r\n"
            f"CACHE-CONTROL: max-age={MAX_AGE_SECONDS}\r\n"
            "EXT:\r\n"
            f"LOCATION: {self.location_for(host)}\r\n"
            f"SERVER: {SERVER}\r\n"
            f"ST: {SERVICE_TYPE}\r\n"
            f"USN: uuid:{DEVICE_UUID}::{SERVICE_TYPE}\r\n"
            "\r\n"
        )
        self._transport.sendto(answer.encode("ascii"), addr)

    def _notify(self, kind: str) -> None:
        if self._transport is None:
            return
        location = self.location_for(MULTICAST_GROUP)
        message = (
            "NOTIFY * HTTP/1.1\r\n"
            f"HOST: {MULTICAST_GROUP}:{SSDP_PORT}\r\n"
            f"CACHE-CONTROL: max-age={MAX_AGE_SECONDS}\r\n"
            f"LOCATION: {location}\r\n"
            f"NT: {SERVICE_TYPE}\r\n"
            f"NTS: {kind}\r\n"
            f"SERVER: {SERVER}\r\n"
            f"USN: uuid:{DEVICE_UUID}::{SERVICE_TYPE}\r\n"
            "\r\n"
        )
        try:
            self._transport.sendto(message.encode("ascii"), (MULTICAST_GROUP, SSDP_PORT))
        except OSError as error:
            logger.debug("cannot send SSDP notification", extra={"error": str(error)})

    async def run(self) -> None:
        try:
            sock = _multicast_socket(self._port)
        except OSError as error:
            logger.warning(
                "UPnP/SSDP autodiscovery unavailable",
                extra={"port": self._port, "error": str(error)},
            )
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
        logger.info("announcing the Manager with UPnP/SSDP", extra={"port": self._port})
        try:
            while True:
                self._notify("ssdp:alive")
                await asyncio.sleep(NOTIFY_INTERVAL_SECONDS)
        finally:
            self._notify("ssdp:byebye")
            transport.close()


def _multicast_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            # Other UPnP software on this machine listens on the same port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("", port))
        membership = struct.pack(
            "4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton("0.0.0.0")
        )
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError as error:
            # Without a multicast route, direct searches still get an answer.
            logger.info("cannot join the SSDP multicast group", extra={"error": str(error)})
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
