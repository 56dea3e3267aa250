"""The Worker's HTTP client: one method per worker-facing operation, over one long-lived session."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from flamenco import FLAMENCO_API_VERSION, __version__
from flamenco.worker.config import Credentials

logger = logging.getLogger(__name__)

USER_AGENT = f"Flamenco/{FLAMENCO_API_VERSION} (flamenco-py {__version__})"
SOFTWARE_VERSION = f"{FLAMENCO_API_VERSION} (flamenco-py {__version__})"
LOG_STREAM_PATH = "/api/v3/worker/task-log-stream"
WORK_NOTICES_PATH = "/api/v3/worker/work-notices"

# Every call but an image upload is small; a Manager that takes longer is in trouble.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=300, connect=10)


class ManagerUnreachable(Exception):
    """The request did not get an answer: connection refused, reset, or timed out."""


class ManagerError(Exception):
    """The Manager answered, but not with what the Worker can work with."""

    def __init__(self, operation: str, status: int, message: str) -> None:
        super().__init__(f"{operation}: Manager answered {status}: {message}")
        self.operation = operation
        self.status = status
        self.message = message


class TaskReassigned(Exception):
    """The Manager says the task is no longer assigned to this Worker (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any

    @property
    def message(self) -> str:
        """The error message of an `Error` body, or the body itself as text."""
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])
        return "" if self.body is None else str(self.body)[:500]


class ManagerClient:
    """Talks to one Manager. Create it inside a running event loop; `close()` when done."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        enrolment_secret: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        # Sent as a Bearer token where the Worker has no credentials of its own to show.
        self.enrolment_secret = enrolment_secret
        # The paths of the Manager's spec, fetched once: which extensions it offers.
        self._spec_paths: frozenset[str] | None = None
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": USER_AGENT},
            timeout=DEFAULT_TIMEOUT,
            # Task updates, log chunks, an upload and a may-i-run can overlap.
            connector=aiohttp.TCPConnector(limit=8),
        )

    async def close(self) -> None:
        await self._session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def _enrolment_headers(self) -> dict[str, str]:
        """For calls made before registering: the enrolment secret, when the Manager wants one."""
        if self.enrolment_secret:
            return {"Authorization": f"Bearer {self.enrolment_secret}"}
        return self._auth_headers()

    def _auth_headers(self) -> dict[str, str]:
        """HTTP basic auth, written out: aiohttp's BasicAuth helper is deprecated."""
        if self.credentials is None:
            return {}
        pair = f"{self.credentials.worker_id}:{self.credentials.worker_secret}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        authenticate: bool = True,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Answer:
        headers = self._auth_headers() if authenticate else self._enrolment_headers()
        body = data
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif content_type is not None:
            headers["Content-Type"] = content_type
        try:
            async with self._session.request(
                method,
                self.url(path),
                data=body,
                headers=headers,
                timeout=timeout or DEFAULT_TIMEOUT,
            ) as response:
                raw = await response.read()
                return Answer(response.status, _decode(raw, response.content_type))
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ManagerUnreachable(f"{method} {path}: {type(error).__name__}: {error}") from error

    # --- meta

    async def get_version(self) -> Answer:
        return await self.request("GET", "/api/v3/version", authenticate=False)

    async def get_spec(self) -> Answer:
        return await self.request("GET", "/api/v3/openapi3.json", authenticate=False)

    async def offers_log_stream(self) -> bool:
        """Whether the Manager's spec lists the log streaming extension; upstream's does not."""
        return LOG_STREAM_PATH in await self._offered_paths()

    async def offers_work_notices(self) -> bool:
        """Whether the Manager's spec lists the work notices extension; upstream's does not."""
        return WORK_NOTICES_PATH in await self._offered_paths()

    async def _offered_paths(self) -> frozenset[str]:
        """The paths in the Manager's spec; none when it cannot be had (and ask again later)."""
        if self._spec_paths is not None:
            return self._spec_paths
        try:
            answer = await self.get_spec()
        except ManagerUnreachable:
            return frozenset()
        if answer.status != 200 or not isinstance(answer.body, dict):
            return frozenset()
        paths = answer.body.get("paths")
        self._spec_paths = frozenset(paths) if isinstance(paths, dict) else frozenset()
        return self._spec_paths

    # --- worker

    async def register_worker(
        self, *, name: str, platform: str, secret: str, task_types: list[str]
    ) -> Answer:
        body = {
            "name": name,
            "platform": platform,
            "secret": secret,
            "supported_task_types": task_types,
        }
        return await self.request(
            "POST", "/api/v3/worker/register-worker", json_body=body, authenticate=False
        )

    async def sign_on(self, *, name: str, task_types: list[str], can_restart: bool) -> Answer:
        body = {
            "name": name,
            "supported_task_types": task_types,
            "software_version": SOFTWARE_VERSION,
            "can_restart": can_restart,
        }
        return await self.request("POST", "/api/v3/worker/sign-on", json_body=body)

    async def sign_off(self, *, timeout: float | None = None) -> Answer:
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        return await self.request("POST", "/api/v3/worker/sign-off", timeout=client_timeout)

    async def worker_state(self) -> Answer:
        return await self.request("GET", "/api/v3/worker/state")

    async def worker_state_changed(self, status: str) -> Answer:
        return await self.request(
            "POST", "/api/v3/worker/state-changed", json_body={"status": status}
        )

    async def schedule_task(self) -> Answer:
        return await self.request("POST", "/api/v3/worker/task")

    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer:
        return await self.request("POST", f"/api/v3/worker/task/{task_id}", json_body=update)

    async def may_worker_run(self, task_id: str) -> Answer:
        return await self.request("GET", f"/api/v3/worker/task/{task_id}/may-i-run")

    async def task_output_produced(self, task_id: str, image: bytes, content_type: str) -> Answer:
        return await self.request(
            "POST",
            f"/api/v3/worker/task/{task_id}/output-produced",
            data=image,
            content_type=content_type,
            timeout=UPLOAD_TIMEOUT,
        )

    async def connect_log_stream(self) -> aiohttp.ClientWebSocketResponse:
        """Open the log streaming WebSocket (our extension); raises ManagerUnreachable."""
        try:
            return await self._session.ws_connect(
                self.url(LOG_STREAM_PATH),
                headers=self._auth_headers(),
                heartbeat=20.0,
                max_msg_size=0,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ManagerUnreachable(f"log stream: {type(error).__name__}: {error}") from error

    async def connect_work_notices(self) -> aiohttp.ClientWebSocketResponse:
        """Open the work notices WebSocket (our extension); raises ManagerUnreachable."""
        try:
            return await self._session.ws_connect(
                self.url(WORK_NOTICES_PATH),
                headers=self._auth_headers(),
                heartbeat=20.0,
                # Closing waits at most 5 s for the Manager's answer; receiving has
                # no timeout, as the socket may stay quiet for hours.
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ManagerUnreachable(f"work notices: {type(error).__name__}: {error}") from error


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type == "application/json":
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode("utf-8", errors="replace")
