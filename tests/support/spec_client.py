"""HTTP clients for tests that check every API response against our OpenAPI spec."""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers

from flamenco.api import SPEC_PATH

_SPEC: list[OpenAPI] = []


@functools.cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def spec() -> OpenAPI:
    if not _SPEC:
        _SPEC.append(OpenAPI.from_path(SPEC_PATH))
    return _SPEC[0]


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class SpecViolation(AssertionError):
    pass


class SpecCheckedClient:
    """Talks to a Manager over real HTTP; every /api/v3 response must match the spec."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        expect: int | tuple[int, ...] | None = None,
        check_spec: bool = True,
    ) -> Reply:
        request_headers = dict(headers or {})
        if auth is not None:
            request_headers["Authorization"] = basic_auth_header(*auth)
        body = data
        if json_body is not None:
            body = json.dumps(json_body).encode()
            request_headers.setdefault("Content-Type", "application/json")
        async with self.session.request(
            method, self.base_url + path, data=body, headers=request_headers
        ) as response:
            reply = Reply(response.status, dict(response.headers), await response.read())
        if path.startswith("/api/v3/") and check_spec:
            self.check(
                method, path, body if isinstance(body, bytes) else None, request_headers, reply
            )
        if expect is not None:
            expected = (expect,) if isinstance(expect, int) else expect
            assert reply.status in expected, (
                f"{method} {path}: expected {expected}, got {reply.status}: {reply.body[:500]!r}"
            )
        return reply

    def check(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], reply: Reply
    ) -> None:
        """Raise SpecViolation when the reply does not match the spec (for streamed requests)."""
        if reply.status >= 400 and _expects_error_body(method, path, reply.status):
            try:
                error = reply.json()
            except ValueError:
                raise SpecViolation(
                    f"{method} {path}: error {reply.status} without JSON body"
                ) from None
            if not (
                isinstance(error, dict)
                and error.get("code") == reply.status
                and isinstance(error.get("message"), str)
                and error["message"]
            ):
                raise SpecViolation(f"{method} {path}: bad error body {error!r}")
        if path.startswith(("/api/v3/openapi3.json", "/api/v3/swagger-ui")):
            return
        split = urlsplit(self.base_url + path)
        request = _Request(
            host_url=f"{split.scheme}://{split.netloc}",
            path=split.path,
            method=method.lower(),
            body=body,
            content_type=headers.get("Content-Type", ""),
        )
        content_type = reply.headers.get("Content-Type", "")
        response = _Response(
            status_code=reply.status,
            content_type=content_type.split(";")[0].strip().lower(),
            headers=Headers(reply.headers),
            data=reply.body or None,
        )
        result = spec().unmarshal_response(request, response)
        if result.errors:
            details = "; ".join(_describe(error) for error in result.errors)
            raise SpecViolation(
                f"{method} {path} -> {reply.status} does not match the spec: {details}\n"
                f"body: {reply.body[:1000]!r}"
            )

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)


def _expects_error_body(method: str, path: str, status: int) -> bool:
    """False when the spec gives this status a body of its own, like scheduleTask's 423."""
    document = _document()
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if not re.match(pattern, path.split("?")[0]):
            continue
        response = item.get(method.lower(), {}).get("responses", {}).get(str(status))
        if response is None:
            return True
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "")
        return not ref or ref.endswith(("/Error", "/LenientError", "/SecurityError"))
    return True


def basic_auth_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


def _describe(error: Exception) -> str:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return f"{error}: " + ", ".join(
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in schema_errors
        )
    return f"{error!r} ({cause!r})" if cause else repr(error)
