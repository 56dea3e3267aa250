"""Finding a Manager on the local network with UPnP/SSDP (`--find-manager`, empty manager_url)."""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from flamenco.worker.client import USER_AGENT

logger = logging.getLogger(__name__)

SERVICE_TYPE = "urn:flamenco:manager:0"
SSDP_ADDRESS = ("239.255.255.250", 1900)
# How long Managers may wait before answering one search, and how often we search.
SEARCH_MX = 2
SEARCH_INTERVAL = 5.0


class DiscoveryFailed(Exception):
    """No usable Manager was found in time."""


def search_request(target: tuple[str, int] = SSDP_ADDRESS) -> bytes:
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {target[0]}:{target[1]}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {SEARCH_MX}\r\n"
        f"ST: {SERVICE_TYPE}\r\n"
        f"USER-AGENT: {USER_AGENT}\r\n"
        "\r\n"
    ).encode("ascii")


def parse_response(data: bytes) -> str | None:
    """The LOCATION of an SSDP answer for a Flamenco Manager, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    status, _, rest = text.partition("\r\n")
    if not status.upper().startswith(("HTTP/1.1 200", "NOTIFY")):
        return None
    headers = {}
    for line in rest.split("\r\n"):
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().upper()] = value.strip()
    service = headers.get("ST") or headers.get("NT") or ""
    if service != SERVICE_TYPE:
        return None
    return headers.get("LOCATION") or None


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.locations: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        location = parse_response(data)
        if location:
            self.locations.put_nowait(location)


def service_url(location: str) -> str:
    """The Manager's base URL from its description URL; the description's path is not used."""
    parts = urlsplit(location)
    return urlunsplit((parts.scheme or "http", parts.netloc, "/", "", ""))


async def ping(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether a Flamenco Manager answers at `url`."""
    try:
        async with session.get(url.rstrip("/") + "/api/v3/version") as response:
            if response.status != 200:
                return False
            version = await response.json()
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return False
    if not isinstance(version, dict):
        return False
    logger.info(
        "found Flamenco Manager",
        extra={"url": url, "version": version.get("version"), "manager_name": version.get("name")},
    )
    return True


async def discover(timeout: float, *, target: tuple[str, int] = SSDP_ADDRESS) -> str:
    """The URL of the first Manager that answers a search and then a version request."""
    loop = asyncio.get_running_loop()
    logger.info("auto-discovering Manager via UPnP/SSDP", extra={"timeout": timeout})
    transport, protocol = await loop.create_datagram_endpoint(
        _Collector, local_addr=("0.0.0.0", 0), family=socket.AF_INET
    )
    tried: set[str] = set()
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=5), headers={"User-Agent": USER_AGENT}
            ) as session,
        ):
            while True:
                transport.sendto(search_request(target), target)
                try:
                    async with asyncio.timeout(SEARCH_INTERVAL):
                        while True:
                            url = service_url(await protocol.locations.get())
                            if url in tried:
                                continue
                            tried.add(url)
                            if await ping(session, url):
                                return url
                except TimeoutError:
                    continue
    except TimeoutError:
        found = f"; these answered SSDP but not as a Manager: {', '.join(sorted(tried))}"
        raise DiscoveryFailed(
            f"no Manager found within {timeout:g} s" + (found if tried else "")
        ) from None
    finally:
        transport.close()
