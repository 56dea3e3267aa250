"""Middleware that lets a request through only with the credentials its operation's role needs."""

from __future__ import annotations

import http.cookies
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import yarl
from aiohttp import web

from flamenco.manager import keys
from flamenco.manager.access import audit, roles, tokens
from flamenco.manager.access.roles import (
    Credential,
    Decision,
    Ownership,
    Principal,
    Requirement,
    Role,
)
from flamenco.manager.access.service import OPEN_PRINCIPAL
from flamenco.manager.api.errors import API_PREFIX, Handler, error_response

logger = logging.getLogger(__name__)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="Flamenco"'}
SESSION_COOKIE = "flamenco_session"
# Answers read for the audit log's subject (a new job's ID) up to this size.
AUDIT_ANSWER_MAX_BYTES = 1024 * 1024
CSRF_HEADER = "X-CSRF-Token"
# Methods that change nothing, which a cross-site page may make a browser send.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def requirement_of(request: web.Request) -> Requirement | None:
    """What the request needs; None when what it asks for is open to everyone."""
    if request.path.startswith(API_PREFIX):
        operation_id = request.match_info.route.name or ""
        if operation_id not in request.app[keys.SPEC].operations:
            # The spec itself, its explorer, or a 404/405: nothing of the farm's.
            return None
        return roles.requirement_for_operation(operation_id)
    return roles.requirement_for_path(request.path)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = request.app[keys.ACCESS]
    request[keys.PRINCIPAL] = OPEN_PRINCIPAL
    requirement = requirement_of(request)
    if requirement is None or not access.guards(requirement):
        return await handler(request)
    response = await _authorized(request, handler, requirement)
    operation_id = request.match_info.route.name or ""
    if (
        access.enabled
        and response.status < 400
        and audit.is_audited(operation_id, request.method, requirement)
    ):
        await _audit(request, response, operation_id)
    return response


async def _audit(request: web.Request, response: web.StreamResponse, operation_id: str) -> None:
    validated = request.get(keys.VALIDATED)
    answer = None
    if isinstance(response, web.Response) and response.content_type == "application/json":
        body = response.body
        if isinstance(body, bytes) and len(body) < AUDIT_ANSWER_MAX_BYTES:
            parsed = json.loads(body)
            answer = parsed if isinstance(parsed, dict) else None
    entry = audit.record(
        operation_id,
        request.match_info,
        validated.body if validated is not None else None,
        answer,
    )
    try:
        await request.app[keys.ACCESS].audit(
            request[keys.PRINCIPAL],
            address=request.remote or "",
            operation=operation_id,
            subject=entry.subject,
            detail=entry.detail,
            status=response.status,
        )
    except Exception:
        # The change is made and answered; a lost audit entry must not undo the answer.
        logger.exception("audit entry lost", extra={"operation": operation_id})


async def _authorized(
    request: web.Request, handler: Handler, requirement: Requirement
) -> web.StreamResponse:
    access = request.app[keys.ACCESS]
    header = request.headers.get("Authorization", "")
    if access.is_trusted_proxy(request.remote):
        proxied_user = request.headers.get(access.proxy_user_header, "").strip()
        if proxied_user and not header:
            return await _from_proxy(request, handler, requirement, proxied_user)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not header and session_id:
        return await _with_session(request, handler, requirement, session_id)
    credentials = tokens.parse_authorization(header)
    if credentials is None:
        return _unauthenticated(
            request,
            f"this needs credentials ({requirement.describe()}): "
            "send 'Authorization: Bearer <token>'",
        )
    if requirement.workers and requirement.role is None and isinstance(credentials, tokens.Basic):
        # Worker operations check Worker credentials themselves, as they always have
        # (api/validation.py), including Workers deleted while their request runs.
        return await handler(request)
    principal = await access.authenticate(credentials, requirement)
    if principal is None:
        return _unauthenticated(request, "unknown, expired or revoked credentials")
    return await _as(request, handler, requirement, principal)


async def _with_session(
    request: web.Request, handler: Handler, requirement: Requirement, session_id: str
) -> web.StreamResponse:
    """A browser that logged in: its cookie, and for changes its CSRF token too."""
    session = await request.app[keys.ACCESS].session(session_id)
    if session is None:
        return _unauthenticated(request, "the login has expired; log in again")
    if request.method not in SAFE_METHODS and not tokens.same_secret(
        request.headers.get(CSRF_HEADER, ""), session.csrf_token
    ):
        # A cookie alone may come from another site's page: changes need the token
        # that only the web interface's own script knows.
        return error_response(403, f"this change needs the {CSRF_HEADER} header of the login")
    principal = Principal(session.user_name, Credential.SESSION, Role(session.role))
    return await _as(request, handler, requirement, principal)


async def _from_proxy(
    request: web.Request, handler: Handler, requirement: Requirement, name: str
) -> web.StreamResponse:
    """Someone the reverse proxy logged in; its cookie could be sent by another site's page,
    so changes must come from the same site (browsers say so in Sec-Fetch-Site and Origin)."""
    if request.method not in SAFE_METHODS and _cross_site(request):
        return error_response(403, "changes must come from the Manager's own pages")
    principal = await request.app[keys.ACCESS].proxy_principal(name)
    return await _as(request, handler, requirement, principal)


def _cross_site(request: web.Request) -> bool:
    if request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin", "")
    if not origin:
        return False  # Not a browser, or a same-origin request of an old one.
    forwarded_host = request.headers.get("X-Forwarded-Host", "")
    return yarl.URL(origin).host != yarl.URL(f"//{forwarded_host or request.host}").host


async def _as(
    request: web.Request, handler: Handler, requirement: Requirement, principal: Principal
) -> web.StreamResponse:
    request[keys.PRINCIPAL] = principal
    decision = roles.decide(principal, requirement)
    if decision is Decision.IF_OWNER:
        decision = await _owner_decision(request, principal, requirement.own)
    if decision is Decision.DENY:
        logger.info(
            "request refused",
            extra={
                "principal": principal.name,
                "path": request.path,
                "needs": requirement.describe(),
            },
        )
        return error_response(
            403, f"{_who(principal)} may not do this; it needs {requirement.describe()}"
        )
    return await handler(request)


async def _owner_decision(request: web.Request, principal: Principal, own: Ownership) -> Decision:
    access = request.app[keys.ACCESS]
    item = request.match_info.get(own.value, "")
    if own is Ownership.TASK:
        submitter = await access.task_job_submitter(item)
    else:
        submitter = await access.job_submitter(item)
    if submitter is None:
        # No such job or task: the operation itself says so (404, or 400 for a bad ID).
        return Decision.ALLOW
    if submitter.principal == principal.name:
        return Decision.ALLOW
    return Decision.DENY


def _who(principal: Principal) -> str:
    if principal.role is None:
        return f"{principal.name} ({principal.credential})"
    return f"{principal.name} (role {principal.role})"


def _unauthenticated(request: web.Request, message: str) -> web.Response:
    if request.path.startswith(API_PREFIX):
        return error_response(401, message, headers=CHALLENGE)
    return web.Response(status=401, text=message + "\n", headers=CHALLENGE)


def socket_io_authorizer(
    app: web.Application,
) -> Callable[[dict[str, Any], Any], Awaitable[bool]]:
    """Checks a Socket.IO connection: a token in its `auth` payload or its Authorization header.

    Browsers cannot set headers on a WebSocket, so the web interface sends its token
    as `auth: {token}`; other clients may use the header.
    """

    async def authorize(environ: dict[str, Any], auth: Any) -> bool:
        access = app[keys.ACCESS]
        requirement = roles.SOCKET_IO_CONNECT
        if not access.guards(requirement):
            return True
        request = environ.get("aiohttp.request")
        if (
            request is not None
            and access.is_trusted_proxy(request.remote)
            and request.headers.get(access.proxy_user_header, "").strip()
        ):
            return True  # Everyone a trusted proxy lets in is at least a viewer.
        credentials: tokens.Bearer | tokens.Basic | None = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
            credentials = tokens.Bearer(auth["token"])
        else:
            credentials = tokens.parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        if credentials is None:
            # The web interface after logging in: the browser sends its cookie along.
            session_id = _cookie(environ.get("HTTP_COOKIE", ""), SESSION_COOKIE)
            return bool(session_id) and await access.session(session_id) is not None
        principal = await access.authenticate(credentials, requirement)
        return principal is not None and roles.decide(principal, requirement) is Decision.ALLOW

    return authorize


def _cookie(header: str, name: str) -> str:
    cookies: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    try:
        cookies.load(header)
    except http.cookies.CookieError:
        return ""
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else ""
