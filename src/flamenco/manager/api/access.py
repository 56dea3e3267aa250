"""Handlers for the `access` tag (our extension): who is asking, and API and enrolment tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from flamenco.api import wire
from flamenco.manager import keys
from flamenco.manager.access.middleware import SESSION_COOKIE
from flamenco.manager.access.roles import Credential, Role
from flamenco.manager.access.service import SESSION_LIFETIME, LoginRefused, TokenKind
from flamenco.manager.api.errors import error_response
from flamenco.manager.persistence.access import AccessToken


def _body(request: web.Request) -> dict[str, Any]:
    body = request[keys.VALIDATED].body
    return body if isinstance(body, dict) else {}


def token_summary(record: AccessToken) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind,
        "name": record.principal,
        "description": record.description,
        "created": wire.format_time(record.created_at),
        "single_use": record.single_use,
    }
    if record.role:
        body["role"] = record.role
    if record.expires_at is not None:
        body["expires"] = wire.format_time(record.expires_at)
    if record.used_at is not None:
        body["used"] = wire.format_time(record.used_at)
    return body


async def fetch_current_principal(request: web.Request) -> web.Response:
    principal = request[keys.PRINCIPAL]
    body: dict[str, Any] = {
        "name": principal.name,
        "credential": str(principal.credential),
        "access_control": request.app[keys.ACCESS].enabled,
    }
    if principal.role is not None:
        body["role"] = str(principal.role)
    if principal.credential == Credential.SESSION:
        # A reloaded web interface learns its CSRF token again here (the cookie is HttpOnly).
        session = await request.app[keys.ACCESS].session(request.cookies[SESSION_COOKIE])
        if session is not None:
            body["csrf_token"] = session.csrf_token
    return web.json_response(body)


async def fetch_access_tokens(request: web.Request) -> web.Response:
    records = await request.app[keys.ACCESS].fetch_tokens()
    return web.json_response({"tokens": [token_summary(record) for record in records]})


async def create_access_token(request: web.Request) -> web.Response:
    body = _body(request)
    kind = body["kind"]
    name = body["name"].strip()
    if not name:
        return error_response(400, "a token needs the name of whom it acts for")
    role = Role(body["role"]) if body.get("role") else None
    if kind == TokenKind.API and role is None:
        return error_response(400, "an API token needs a role: viewer, artist, wrangler or admin")
    if kind == TokenKind.ENROLMENT and role is not None:
        return error_response(400, "an enrolment token has no role; it only lets a Worker register")
    if kind == TokenKind.API and body.get("single_use"):
        return error_response(400, "only enrolment tokens can be single-use")
    seconds = body.get("valid_for_seconds")
    created = await request.app[keys.ACCESS].create_token(
        kind=kind,
        principal=name,
        role=role,
        description=body.get("description") or "",
        valid_for=None if seconds is None else dt.timedelta(seconds=seconds),
        single_use=bool(body.get("single_use")),
    )
    return web.json_response({"token": created.token, "info": token_summary(created.record)})


async def revoke_access_token(request: web.Request) -> web.Response:
    token_id = request[keys.VALIDATED].path["token_id"]
    if not await request.app[keys.ACCESS].revoke_token(token_id):
        return error_response(404, f"no token {token_id} (or it was revoked already)")
    return web.Response(status=204)


async def log_in(request: web.Request) -> web.Response:
    body = _body(request)
    access = request.app[keys.ACCESS]
    behind_proxy = access.is_trusted_proxy(request.remote)
    address = request.remote or ""
    if behind_proxy:
        # Limit failed logins per person at the proxy, not for everyone behind it at once.
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        address = forwarded or address
    try:
        login = await access.log_in(body["name"], body["password"], address)
    except LoginRefused as refused:
        if refused.retry_after is not None:
            return error_response(
                429, refused.message, headers={"Retry-After": str(round(refused.retry_after))}
            )
        return error_response(401, refused.message)
    response = web.json_response(
        {
            "name": login.user.name,
            "role": login.user.role,
            "credential": str(Credential.SESSION),
            "access_control": request.app[keys.ACCESS].enabled,
            "csrf_token": login.csrf_token,
        }
    )
    response.set_cookie(
        SESSION_COOKIE,
        login.session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        # Under TLS, ours or that of a trusted proxy in front, the cookie never goes out in clear.
        secure=request.secure
        or (behind_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https"),
    )
    return response


async def log_out(request: web.Request) -> web.Response:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id:
        await request.app[keys.ACCESS].log_out(session_id)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def fetch_users(request: web.Request) -> web.Response:
    users = await request.app[keys.ACCESS].fetch_users()
    return web.json_response({"users": [{"name": user.name, "role": user.role} for user in users]})


async def save_user(request: web.Request) -> web.Response:
    body = _body(request)
    name = request.match_info["user_name"].strip()
    if not name:
        return error_response(400, "a user needs a name")
    try:
        await request.app[keys.ACCESS].save_user(name, Role(body["role"]), body["password"])
    except ValueError as problem:
        return error_response(400, str(problem))
    return web.Response(status=204)


async def delete_user(request: web.Request) -> web.Response:
    name = request.match_info["user_name"]
    if not await request.app[keys.ACCESS].delete_user(name):
        return error_response(404, f"no user {name!r}")
    return web.Response(status=204)


AUDIT_PAGE = 100


async def fetch_audit_log(request: web.Request) -> web.Response:
    query = request[keys.VALIDATED].query
    entries = await request.app[keys.ACCESS].fetch_audit_log(
        before=query.get("before") or 2**63 - 1, limit=query.get("limit") or AUDIT_PAGE
    )
    return web.json_response(
        {
            "entries": [
                {
                    "id": entry.id,
                    "time": wire.format_time(entry.created_at),
                    "who": entry.principal,
                    "address": entry.address,
                    "operation": entry.operation,
                    "subject": entry.subject,
                    "detail": entry.detail,
                    "status": entry.status,
                }
                for entry in entries
            ]
        }
    )
