"""A small HTTP client for the Flamenco Manager API, standard library only (no bpy)."""

# Blender's bundled Python has neither requests nor urllib3, so this speaks HTTP
# with urllib. Every request has a timeout, and every failure becomes a
# ManagerError whose message can be shown to an artist as it is.

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, Dict, Optional, Tuple

# Seconds to wait for the Manager before giving up on a request. Uploads and
# job submission (which compiles the job) get longer.
DEFAULT_TIMEOUT = 10.0
SUBMIT_TIMEOUT = 60.0
UPLOAD_TIMEOUT = 120.0

USER_AGENT = "Flamenco-Blender-addon"


class ManagerError(Exception):
    """The Manager could not be reached, or it refused a request.

    `status` is the HTTP status code when the Manager answered, else None;
    `detail` is then the Manager's own explanation. `message` is written for
    the artist.
    """

    def __init__(self, message: str, status: Optional[int] = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail or message


def normalise_url(url: str) -> str:
    """The Manager's base URL without trailing slash, or ManagerError if it can't be one."""
    url = url.strip()
    if url and "://" not in url:
        # People type "farm:8080"; assume plain HTTP like the Manager serves.
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ManagerError(
            "The Manager URL %r is not valid; it should look like http://hostname:8080/" % url
        )
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ManagerError("The Manager URL %r has an invalid port number" % url) from None
    return url.rstrip("/")


class ManagerClient:
    """Calls the Manager's API operations that the add-on needs."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, token: str = "") -> None:
        self.base_url = normalise_url(url)
        self.timeout = timeout
        # An API token for a Manager with access control (our extension); none is
        # sent without one, so Managers without access control see no difference.
        self.token = token.strip()
        # An empty ProxyHandler: the Manager lives on the studio network, and an
        # http_proxy meant for the internet would only get in the way (upstream's
        # client ignores proxy variables too).
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- meta ---------------------------------------------------------------

    def get_version(self) -> Dict[str, Any]:
        return self._json("GET", "/api/v3/version")

    def get_shared_storage(self, platform: str, audience: str = "users") -> Dict[str, Any]:
        path = "/api/v3/configuration/shared-storage/%s/%s" % (
            urllib.parse.quote(audience, safe=""),
            urllib.parse.quote(platform, safe=""),
        )
        return self._json("GET", path)

    # -- jobs ---------------------------------------------------------------

    def get_job_types(self) -> Dict[str, Any]:
        return self._json("GET", "/api/v3/jobs/types")

    def submit_job_check(self, job: Dict[str, Any]) -> None:
        self._json("POST", "/api/v3/jobs/check", job, timeout=SUBMIT_TIMEOUT)

    def submit_job(self, job: Dict[str, Any]) -> Dict[str, Any]:
        return self._json("POST", "/api/v3/jobs", job, timeout=SUBMIT_TIMEOUT)

    # -- worker management --------------------------------------------------

    def get_worker_tags(self) -> Dict[str, Any]:
        return self._json("GET", "/api/v3/worker-mgt/tags")

    # -- Shaman -------------------------------------------------------------

    def shaman_requirements(self, files: list) -> Dict[str, Any]:
        return self._json(
            "POST", "/api/v3/shaman/checkout/requirements", {"files": files}, timeout=SUBMIT_TIMEOUT
        )

    def shaman_file_status(self, sha: str, size: int) -> str:
        answer = self._json("GET", _shaman_file_path(sha, size))
        return str(answer.get("status", ""))

    def shaman_upload(
        self,
        sha: str,
        size: int,
        body: IO[bytes],
        *,
        can_defer: bool,
        original_filename: str,
    ) -> int:
        """Upload one file; returns the status: 200/204 stored, 208 already there, 425 deferred.

        Any other answer raises ManagerError, with `status` set when the Manager answered.
        """
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            "X-Shaman-Can-Defer-Upload": "true" if can_defer else "false",
            "X-Shaman-Original-Filename": original_filename,
        }
        status, _ = self._request(
            "POST",
            _shaman_file_path(sha, size),
            body=body,
            headers=headers,
            timeout=UPLOAD_TIMEOUT,
            accept_statuses=(208, 425),
        )
        return status

    def shaman_checkout(self, files: list, checkout_path: str) -> str:
        answer = self._json(
            "POST",
            "/api/v3/shaman/checkout/create",
            {"files": files, "checkoutPath": checkout_path},
            timeout=SUBMIT_TIMEOUT,
        )
        return str(answer["checkoutPath"])

    # -- plumbing -----------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        timeout: Optional[float] = None,
    ) -> Any:
        body = None
        headers = {"Accept": "application/json"}
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        status, data = self._request(method, path, body=body, headers=headers, timeout=timeout)
        if status == 204 or not data:
            return {}
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            raise ManagerError(
                "The Manager at %s sent an answer that is not JSON; is that really a "
                "Flamenco Manager?" % self.base_url,
                status,
            ) from None

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: Optional[float] = None,
        accept_statuses: Tuple[int, ...] = (),
    ) -> Tuple[int, bytes]:
        url = self.base_url + path
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("User-Agent", USER_AGENT)
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        timeout = self.timeout if timeout is None else timeout
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            data = _read_quietly(error)
            if error.code in accept_statuses:
                return error.code, data
            detail = _error_detail(error.code, data)
            raise ManagerError(
                "Manager error %d: %s" % (error.code, detail), error.code, detail
            ) from None
        except urllib.error.URLError as error:
            raise ManagerError(self._unreachable_message(error.reason, timeout)) from None
        except (socket.timeout, TimeoutError):
            raise ManagerError(
                "The Manager at %s did not answer within %d seconds" % (self.base_url, timeout)
            ) from None
        except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError) as error:
            raise ManagerError(self._unreachable_message(error, timeout)) from None

    def _unreachable_message(self, reason: Any, timeout: float) -> str:
        where = "Cannot reach the Manager at %s" % self.base_url
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "%s: no answer within %d seconds" % (where, timeout)
        if isinstance(reason, ConnectionRefusedError):
            return "%s: nothing is listening there (connection refused)" % where
        if isinstance(reason, socket.gaierror):
            return "%s: the host name is unknown" % where
        if isinstance(reason, ssl.SSLError):
            return "%s: secure connection failed (%s)" % (where, reason)
        if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected)):
            return "%s: the connection was closed unexpectedly" % where
        return "%s: %s" % (where, reason)


def _shaman_file_path(sha: str, size: int) -> str:
    return "/api/v3/shaman/files/%s/%d" % (urllib.parse.quote(sha, safe=""), int(size))


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read() or b""
    except (OSError, http.client.HTTPException):
        return b""


def _error_detail(status: int, data: bytes) -> str:
    """The Manager's own error message when it sent one, else a description of the status."""
    message = ""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        message = parsed["message"].strip()
    if not message:
        message = data.decode("utf-8", "replace").strip()[:200]
    if not message:
        message = http.client.responses.get(status, "unexpected answer")
    return message
