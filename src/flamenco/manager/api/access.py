"""Handlers for the `access` tag (our extension): who is asking, and API and enrolment tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from flamenco.api import wire
from flamenco.manager import keys
from flamenco.manager.access import oidc
from flamenco.manager.access.middleware import SESSION_COOKIE
from flamenco.manager.access.roles import Credential, Principal, Role
from flamenco.manager.access.service import SESSION_LIFETIME, Login, LoginRefused, TokenKind
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
    # Behind a trusted proxy: limit failed logins per person, not for everyone behind it.
    address = _client_address(request)
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
    _set_session_cookie(request, response, login)
    return response


def _over_tls(request: web.Request) -> bool:
    """Under TLS, ours or that of a trusted proxy in front."""
    behind_proxy = request.app[keys.ACCESS].is_trusted_proxy(request.remote)
    return request.secure or (
        behind_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    )


def _set_session_cookie(request: web.Request, response: web.StreamResponse, login: Login) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        login.session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        # Under TLS the cookie never goes out in clear.
        secure=_over_tls(request),
    )


def _client_address(request: web.Request) -> str:
    address = request.remote or ""
    if request.app[keys.ACCESS].is_trusted_proxy(address):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        return forwarded or address
    return address


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


# Single sign-on through OpenID Connect (docs/access-control.md).

# Holds the login's state, nonce and PKCE verifier while the browser is at the provider.
# SameSite=Lax: the provider's redirect back is a cross-site navigation.
PENDING_COOKIE = "flamenco_oidc"
PENDING_COOKIE_PATH = "/api/v3/access/oidc/"


def _manager_base_url(request: web.Request, single_sign_on: oidc.SingleSignOn) -> str:
    if single_sign_on.settings.redirect_base_url:
        return single_sign_on.settings.redirect_base_url
    host = request.host
    if request.app[keys.ACCESS].is_trusted_proxy(request.remote):
        host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or host
    return f"{'https' if _over_tls(request) else 'http'}://{host}"


async def fetch_login_methods(request: web.Request) -> web.Response:
    body: dict[str, Any] = {"password": True}
    single_sign_on = request.app[keys.SINGLE_SIGN_ON]
    if single_sign_on is not None:
        body["single_sign_on"] = {
            "provider_name": single_sign_on.provider_name,
            "login_url": "/api/v3/access/oidc/login",
        }
    return web.json_response(body)


async def start_single_sign_on(request: web.Request) -> web.StreamResponse:
    single_sign_on = request.app[keys.SINGLE_SIGN_ON]
    if single_sign_on is None:
        return error_response(404, "single sign-on is not configured (the `oidc` section)")
    redirect_uri = oidc.callback_url(_manager_base_url(request, single_sign_on))
    try:
        location, pending = await single_sign_on.start(redirect_uri)
    except oidc.SingleSignOnRefused as refused:
        return error_response(refused.status, refused.message)
    response = web.Response(status=302, headers={"Location": location})
    response.set_cookie(
        PENDING_COOKIE,
        pending.encode(),
        max_age=int(oidc.PENDING_LIFETIME.total_seconds()),
        path=PENDING_COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=_over_tls(request),
    )
    return response


async def finish_single_sign_on(request: web.Request) -> web.StreamResponse:
    single_sign_on = request.app[keys.SINGLE_SIGN_ON]
    if single_sign_on is None:
        return error_response(404, "single sign-on is not configured (the `oidc` section)")
    query = request[keys.VALIDATED].query
    address = _client_address(request)
    if query.get("error"):
        reason = query.get("error_description") or query["error"]
        return _refused_sign_on(request, 401, f"the provider did not log you in: {reason}")
    pending_cookie = request.cookies.get(PENDING_COOKIE, "")
    try:
        identity = await single_sign_on.finish(
            code=query.get("code") or "",
            state=query.get("state") or "",
            pending=oidc.Pending.decode(pending_cookie) if pending_cookie else None,
            redirect_uri=oidc.callback_url(_manager_base_url(request, single_sign_on)),
        )
    except oidc.SingleSignOnRefused as refused:
        return _refused_sign_on(request, refused.status, refused.message)
    access = request.app[keys.ACCESS]
    try:
        login = await access.log_in_single_sign_on(identity.name, identity.role, address)
    except LoginRefused as refused:
        return _refused_sign_on(request, 403, refused.message)
    await access.audit(
        Principal(identity.name, Credential.SESSION, identity.role),
        address=address,
        operation="finishSingleSignOn",
        subject=identity.name,
        detail={
            "role": str(identity.role),
            "issuer": single_sign_on.settings.issuer,
            "provider_subject": identity.subject,
            "groups": list(identity.groups),
        },
        status=302,
    )
    response = web.Response(status=302, headers={"Location": "/"})
    _set_session_cookie(request, response, login)
    response.del_cookie(PENDING_COOKIE, path=PENDING_COOKIE_PATH)
    return response


def _refused_sign_on(request: web.Request, status: int, message: str) -> web.Response:
    response = error_response(status, f"single sign-on refused: {message}")
    # The login's secrets are spent either way: a new attempt starts afresh.
    response.del_cookie(PENDING_COOKIE, path=PENDING_COOKIE_PATH)
    return response
