"""Single sign-on through an OpenID Connect provider: authorization code flow with PKCE."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import logging
import urllib.parse
from typing import Any, Final

import aiohttp
import yarl
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
)
from joserfc.jwk import KeySet

from flamenco.clock import Clock
from flamenco.manager.access.roles import Role
from flamenco.manager.config.schema import OIDCConfig

logger = logging.getLogger(__name__)

CALLBACK_PATH: Final = "/api/v3/access/oidc/callback"
# How long a browser may take at the provider before the login must start again.
PENDING_LIFETIME: Final = dt.timedelta(minutes=10)
# Discovery document and keys are fetched again after this long (keys rotate).
METADATA_LIFETIME: Final = dt.timedelta(hours=1)
# Tolerated clock difference between the provider and the Manager.
CLOCK_LEEWAY_SECONDS: Final = 60
HTTP_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
# Asymmetric algorithms only: a symmetric one would make the client secret a signing key.
SIGNING_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class SingleSignOnRefused(Exception):
    """The login through the provider did not succeed; `status` is the HTTP answer to give."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class Pending:
    """What the browser keeps (in a cookie) between leaving for the provider and coming back."""

    state: str
    nonce: str
    code_verifier: str
    started_at: int  # Seconds since the epoch.

    def encode(self) -> str:
        text = json.dumps(dataclasses.asdict(self), separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode()

    @classmethod
    def decode(cls, value: str) -> Pending | None:
        try:
            fields = json.loads(base64.urlsafe_b64decode(value.encode()))
            return cls(
                state=str(fields["state"]),
                nonce=str(fields["nonce"]),
                code_verifier=str(fields["code_verifier"]),
                started_at=int(fields["started_at"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says logged in, and the role that gives them here."""

    name: str
    role: Role
    subject: str
    groups: tuple[str, ...]


def role_for(groups: tuple[str, ...], settings: OIDCConfig) -> Role | None:
    """The highest role any of the groups maps to, else the default role; None: no role."""
    mapped = [Role(rule.role) for rule in settings.role_mapping if rule.group in groups]
    if mapped:
        return max(mapped, key=lambda role: role.rank)
    return Role(settings.default_role) if settings.default_role else None


def groups_of(claims: dict[str, Any], claim: str) -> tuple[str, ...]:
    """The claim as a tuple of group names; providers send a list, a few a single text."""
    value = claims.get(claim)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


@dataclasses.dataclass(frozen=True, slots=True)
class _Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    client_secret_basic: bool
    fetched_at: dt.datetime


class SingleSignOn:
    """The Manager as an OpenID Connect relying party.

    Nothing is kept between the two halves of a login but the browser's cookie, so the
    callback may reach any Manager process of a farm (docs/scale-out.md).
    """

    def __init__(self, settings: OIDCConfig, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._issuer = settings.issuer.rstrip("/")
        self._metadata: _Metadata | None = None
        self._keys: KeySet | None = None

    @property
    def provider_name(self) -> str:
        return self.settings.provider_name

    async def start(self, redirect_uri: str) -> tuple[str, Pending]:
        """Where to send the browser, and what it must bring back."""
        metadata = await self._fetch_metadata()
        pending = Pending(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            started_at=int(self._clock.now().timestamp()),
        )
        url = prepare_grant_uri(
            metadata.authorization_endpoint,
            self.settings.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(self.settings.scopes),
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
        )
        return str(url), pending

    async def finish(
        self, *, code: str, state: str, pending: Pending | None, redirect_uri: str
    ) -> Identity:
        """Exchange the code for an ID token, check it, and say who logged in as what."""
        if pending is None:
            raise SingleSignOnRefused(
                400, "this login did not start here, or its cookie is gone; sign in again"
            )
        now = self._clock.now()
        if now.timestamp() - pending.started_at > PENDING_LIFETIME.total_seconds():
            raise SingleSignOnRefused(400, "the login took too long; sign in again")
        if not state or state != pending.state:
            raise SingleSignOnRefused(400, "the login's state does not match; sign in again")
        if not code:
            raise SingleSignOnRefused(400, "the provider sent no authorization code")
        metadata = await self._fetch_metadata()
        id_token = await self._redeem(metadata, code, pending, redirect_uri)
        claims = await self._verified_claims(metadata, id_token, pending.nonce, now)
        name = claims.get(self.settings.user_claim)
        if not isinstance(name, str) or not name.strip():
            raise SingleSignOnRefused(
                403, f"the provider's ID token has no {self.settings.user_claim!r} claim"
            )
        groups = groups_of(claims, self.settings.roles_claim)
        role = role_for(groups, self.settings)
        if role is None:
            raise SingleSignOnRefused(
                403,
                f"{name} has no role on this Manager: none of their groups "
                f"({', '.join(groups) or 'none'}) is in oidc.role_mapping "
                "and oidc.default_role is empty",
            )
        return Identity(name.strip(), role, str(claims.get("sub", "")), groups)

    async def _fetch_metadata(self) -> _Metadata:
        now = self._clock.now()
        if self._metadata is not None and now - self._metadata.fetched_at < METADATA_LIFETIME:
            return self._metadata
        url = f"{self._issuer}/.well-known/openid-configuration"
        document = await self._get_json(url)
        if str(document.get("issuer", "")).rstrip("/") != self._issuer:
            raise SingleSignOnRefused(
                502, f"the provider at {url} calls itself {document.get('issuer')!r}"
            )
        try:
            endpoints = [
                str(document[key])
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            ]
        except KeyError as missing:
            raise SingleSignOnRefused(
                502, f"the provider's discovery document lacks {missing}"
            ) from None
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(alg for alg in SIGNING_ALGORITHMS if alg in offered)
        if not algorithms:
            raise SingleSignOnRefused(
                502, f"the provider signs ID tokens only with {offered}, none of which we accept"
            )
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        self._metadata = _Metadata(
            authorization_endpoint=endpoints[0],
            token_endpoint=endpoints[1],
            jwks_uri=endpoints[2],
            algorithms=algorithms,
            client_secret_basic="client_secret_basic" in methods,
            fetched_at=now,
        )
        self._keys = None
        return self._metadata

    async def _fetch_keys(self, metadata: _Metadata) -> KeySet:
        try:
            return KeySet.import_key_set(await self._get_json(metadata.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as error:
            raise SingleSignOnRefused(502, f"the provider's keys are unusable: {error}") from None

    async def _redeem(
        self, metadata: _Metadata, code: str, pending: Pending, redirect_uri: str
    ) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        headers: dict[str, str] = {}
        if not self.settings.client_secret:
            form["client_id"] = self.settings.client_id  # A public client.
        elif metadata.client_secret_basic:
            headers["Authorization"] = _client_secret_basic(
                self.settings.client_id, self.settings.client_secret
            )
        else:
            form["client_id"] = self.settings.client_id
            form["client_secret"] = self.settings.client_secret
        try:
            async with (
                aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session,
                session.post(metadata.token_endpoint, data=form, headers=headers) as response,
            ):
                answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise SingleSignOnRefused(
                502, f"the provider's token endpoint did not answer properly: {error}"
            ) from None
        if status != 200 or not isinstance(answer, dict):
            detail = (
                answer.get("error_description") or answer.get("error")
                if isinstance(answer, dict)
                else None
            )
            raise SingleSignOnRefused(
                401, f"the provider refused the authorization code ({status}: {detail})"
            )
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SingleSignOnRefused(502, "the provider's token answer has no ID token")
        return id_token

    async def _verified_claims(
        self, metadata: _Metadata, id_token: str, nonce: str, now: dt.datetime
    ) -> dict[str, Any]:
        if self._keys is None:
            self._keys = await self._fetch_keys(metadata)
        try:
            try:
                token = jwt.decode(id_token, self._keys, algorithms=list(metadata.algorithms))
            except (ValueError, JoseError) as error:
                if isinstance(error, BadSignatureError):
                    raise
                # Perhaps the provider rotated its keys since we fetched them.
                self._keys = await self._fetch_keys(metadata)
                token = jwt.decode(id_token, self._keys, algorithms=list(metadata.algorithms))
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=CLOCK_LEEWAY_SECONDS,
                iss={"essential": True, "values": [self._issuer, self._issuer + "/"]},
                aud={"essential": True, "value": self.settings.client_id},
                exp={"essential": True},
                iat={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except BadSignatureError:
            raise SingleSignOnRefused(
                401, "the ID token's signature does not match the provider's keys"
            ) from None
        except ExpiredTokenError:
            raise SingleSignOnRefused(401, "the ID token has expired") from None
        except ClaimError as error:
            raise SingleSignOnRefused(
                401, f"the ID token is not for this login: {error.description or error}"
            ) from None
        except (ValueError, JoseError) as error:
            raise SingleSignOnRefused(401, f"the ID token is unusable: {error}") from None
        claims = dict(token.claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise SingleSignOnRefused(401, "the ID token was issued to another party (azp)")
        return claims

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session,
                session.get(url) as response,
            ):
                response.raise_for_status()
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            logger.warning("OpenID provider unreachable", extra={"url": url, "error": str(error)})
            raise SingleSignOnRefused(
                502, f"the single sign-on provider did not answer at {url}: {error}"
            ) from None
        if not isinstance(document, dict):
            raise SingleSignOnRefused(502, f"the provider's answer at {url} is no JSON object")
        return document


def _client_secret_basic(client_id: str, client_secret: str) -> str:
    """HTTP Basic client authentication; RFC 6749 2.3.1 form-encodes both parts first."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def callback_url(base_url: str) -> str:
    """The redirect URI registered at the provider, for a Manager reached at `base_url`."""
    return str(yarl.URL(base_url.rstrip("/") + CALLBACK_PATH))
