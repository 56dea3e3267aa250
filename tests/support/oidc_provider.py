"""A small OpenID Connect provider on loopback, for testing single sign-on over real HTTP.

It serves discovery, its JWKS (a fresh RSA key), an authorize endpoint that logs
`next_claims`' person in at once and redirects back with a code, and a token
endpoint that checks the code, the client and the PKCE verifier and issues a
signed ID token. Knobs make the next ID token wrong in one way at a time.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import yarl
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "flamenco-manager"
CLIENT_SECRET = "provider-given secret"


@dataclasses.dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    claims: dict[str, Any]


@dataclasses.dataclass
class IdentityProvider:
    """The provider's state; change the knobs between logins."""

    issuer: str = ""
    key: RSAKey = dataclasses.field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "key-1"})
    )
    # Who logs in next; the authorize endpoint asks nobody.
    next_claims: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"preferred_username": "carol", "groups": ["artists"]}
    )
    # Knobs: sign with a key not in the JWKS, another audience, an old token, another nonce.
    sign_with: RSAKey | None = None
    audience: str = CLIENT_ID
    lifetime_seconds: int = 300
    issued_ago_seconds: int = 0
    nonce: str | None = None
    grants: dict[str, _Grant] = dataclasses.field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = dataclasses.field(default_factory=list)
    token_requests: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        return app

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if (
            query.get("response_type") != "code"
            or query.get("client_id") != CLIENT_ID
            or query.get("code_challenge_method") != "S256"
            or "openid" not in query.get("scope", "").split()
        ):
            return web.Response(status=400, text="bad authorization request")
        code = secrets.token_urlsafe(16)
        self.grants[code] = _Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            nonce=query.get("nonce", ""),
            code_challenge=query["code_challenge"],
            claims=dict(self.next_claims),
        )
        back = yarl.URL(query["redirect_uri"]).update_query(code=code, state=query["state"])
        raise web.HTTPFound(str(back))

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({key: str(value) for key, value in form.items()})
        if _client_of(request.headers.get("Authorization", "")) != (CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self.grants.pop(str(form.get("code", "")), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant.code_challenge or form.get("redirect_uri") != grant.redirect_uri:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "PKCE or redirect_uri mismatch"},
                status=400,
            )
        now = int(time.time()) - self.issued_ago_seconds
        claims = {
            "iss": self.issuer,
            "sub": f"subject-of-{grant.claims.get('preferred_username')}",
            "aud": self.audience,
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "nonce": grant.nonce if self.nonce is None else self.nonce,
            **grant.claims,
        }
        key = self.sign_with or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )


def _client_of(header: str) -> tuple[str, str] | None:
    """The client ID and secret of HTTP Basic client authentication (RFC 6749 2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic":
        return None
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


@asynccontextmanager
async def running_provider() -> AsyncIterator[IdentityProvider]:
    """A provider serving on a free loopback port."""
    provider = IdentityProvider()
    runner = web.AppRunner(provider.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    provider.issuer = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        await runner.cleanup()


def oidc_settings(provider: IdentityProvider, **overrides: Any) -> dict[str, Any]:
    """The Manager's `oidc` section for this provider."""
    return {
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "provider_name": "Test SSO",
        "scopes": ["openid", "profile", "groups"],
        "role_mapping": [
            {"group": "artists", "role": "artist"},
            {"group": "render-admins", "role": "admin"},
        ],
        **overrides,
    }
