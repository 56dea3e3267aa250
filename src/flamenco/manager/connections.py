"""Client connections of the HTTP server: header and idle timeouts, a cap, file descriptors."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from flamenco.manager.config.schema import ManagerConfig

logger = logging.getLogger(__name__)

# The blank line that ends a request's header block.
HEADER_END = b"\r\n\r\n"
# What a connection over the cap gets before it is closed: an answer a person can
# read in a browser, and one a client library reports as a server error.
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 55\r\n"
    b"\r\n"
    b"The Manager has too many open connections, try again.\n"
)
# Besides its socket, a connection may hold a file open (a Shaman upload, a task
# log), and the Manager needs descriptors of its own: database, logs, backups.
DESCRIPTORS_PER_CONNECTION = 2
DESCRIPTORS_RESERVED = 128
MIN_CONNECTIONS = 16
# asyncio's message when accept() fails for want of descriptors or memory.
ACCEPT_FAILED = "socket.accept() out of system resource"


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a client may take and how many may connect; see docs/configuration.md."""

    header_timeout: float = 10.0
    idle_timeout: float = 75.0
    max_connections: int = 10_000

    @classmethod
    def from_config(cls, settings: ManagerConfig) -> ConnectionLimits:
        return cls(
            header_timeout=settings.http_header_timeout.total_seconds(),
            idle_timeout=settings.http_idle_timeout.total_seconds(),
            max_connections=settings.http_max_connections,
        )


def raise_descriptor_limit() -> int | None:
    """Raise this process's soft limit on open files to its hard limit; the limit now.

    Distributions start services with a soft limit of 1024, a few hundred clients'
    worth, while the hard limit allows far more. None where there is no such limit.
    """
    if sys.platform == "win32":
        return None
    import resource  # Unix only.

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError) as error:
            logger.warning("cannot raise the open file limit above %d: %s", soft, error)
            return soft
        soft = hard
    return None if soft == resource.RLIM_INFINITY else soft


def connection_cap(max_connections: int, descriptor_limit: int | None) -> int:
    """How many connections may be open at once: the setting, or fewer than the descriptors."""
    if descriptor_limit is None:
        return max_connections
    affordable = (descriptor_limit - DESCRIPTORS_RESERVED) // DESCRIPTORS_PER_CONNECTION
    return min(max_connections, max(MIN_CONNECTIONS, affordable))


class ConnectionGuard:
    """Counts the open connections, refuses those over the cap, and logs each episode once."""

    def __init__(self, limits: ConnectionLimits, cap: int) -> None:
        self.limits = limits
        self.cap = cap
        self.open = 0
        self._refused = 0
        self._accept_failures = 0
        # Below this many open connections a refusing episode is over; the gap
        # keeps a farm hovering at the cap from logging every few connections.
        self._resume_below = max(1, cap - max(1, cap // 10))

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> _GuardedConnection:
        return _GuardedConnection(self, make_handler)

    def admit(self) -> bool:
        self._accept_recovered()
        if self.open >= self.cap:
            if not self._refused:
                logger.warning(
                    "too many open connections: refusing new ones until fewer than %d are open "
                    "(http_max_connections, open file limit)",
                    self._resume_below,
                    extra={"open_connections": self.open, "limit": self.cap},
                )
            self._refused += 1
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1
        if self._refused and self.open < self._resume_below:
            logger.warning(
                "accepting connections again, after refusing %d",
                self._refused,
                extra={"open_connections": self.open, "refused": self._refused},
            )
            self._refused = 0

    def handle_loop_exception(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """The event loop's exception handler: accept() failures logged once per episode.

        asyncio logs a traceback for every failed accept(), many per loop turn, and
        out of descriptors they came by the hundred thousand.
        """
        if context.get("message") != ACCEPT_FAILED:
            loop.default_exception_handler(context)
            return
        if not self._accept_failures:
            logger.error(
                "cannot accept connections: %s; retrying every second",
                context.get("exception"),
                extra={"open_connections": self.open},
            )
        self._accept_failures += 1

    def _accept_recovered(self) -> None:
        if self._accept_failures:
            logger.warning(
                "accepting connections again, after %d failed attempts", self._accept_failures
            )
            self._accept_failures = 0


class _GuardedConnection(asyncio.Protocol):
    """One client connection in front of aiohttp's handler: counted, and closed when its
    first request header does not arrive in time.

    aiohttp's keep-alive timer (the idle timeout) starts at the connection too, but
    that one must be long enough for clients that pause between requests.
    """

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]):
        self._guard = guard
        self._make_handler = make_handler
        self._handler: asyncio.Protocol | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        # The last bytes received, in case the header's end is split across reads.
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self._guard.admit():
            transport.write(REFUSAL)
            transport.close()
            return
        self._header_timer = asyncio.get_running_loop().call_later(
            self._guard.limits.header_timeout, self._header_too_late, transport
        )
        self._handler = self._make_handler()
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None:
            received = self._tail + data
            if HEADER_END in received:
                self._header_timer.cancel()
                self._header_timer = None
                self._tail = b""
            else:
                self._tail = received[-(len(HEADER_END) - 1) :]
        if self._handler is not None:
            self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received() if self._handler is not None else None

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._handler is None:
            return  # Refused: never counted.
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self._guard.release()
        self._handler.connection_lost(exc)
        self._handler = None

    def _header_too_late(self, transport: asyncio.Transport) -> None:
        self._header_timer = None
        logger.debug("closing a connection whose request header is late")
        transport.close()


class GuardedSite(web.BaseSite):
    """aiohttp's TCP site, with every connection passing through a ConnectionGuard."""

    __slots__ = ("_guard", "_host", "_port", "_reuse_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        guard: ConnectionGuard,
        host: str | None,
        port: int,
        *,
        reuse_port: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._guard = guard
        self._host = host
        self._port = port
        self._reuse_port = reuse_port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self._host or '0.0.0.0'}:{self._port}"

    async def start(self) -> None:
        await super().start()
        handlers = self._runner.server
        assert handlers is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: self._guard.protocol_factory(handlers),
            self._host,
            self._port,
            reuse_address=True,
            reuse_port=self._reuse_port,
            ssl=self._ssl_context,
        )


def make_runner(app: web.Application, limits: ConnectionLimits, **options: Any) -> web.AppRunner:
    """aiohttp's runner for `app`, closing connections idle for longer than the limit."""
    return web.AppRunner(app, keepalive_timeout=limits.idle_timeout, **options)
