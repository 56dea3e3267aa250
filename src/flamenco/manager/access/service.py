"""The access control service: who sent a request, tokens, and who submitted which job."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from flamenco.clock import Clock
from flamenco.manager.access import passwords, tokens
from flamenco.manager.access.roles import Credential, Principal, Requirement, Role
from flamenco.manager.access.throttle import LoginThrottle
from flamenco.manager.persistence import Connection, Database, access
from flamenco.manager.persistence.access import (
    AccessToken,
    AuditEntry,
    Session,
    Submitter,
    User,
)

logger = logging.getLogger(__name__)

# Who does what while access control is off: everyone, as upstream.
OPEN_PRINCIPAL = Principal("anonymous", Credential.OPEN, Role.ADMIN)
ENROLMENT_SECRET_PRINCIPAL = "worker_enrolment_secret"

WorkerCheck = Callable[[str, str], Awaitable[bool]]

# How long a web interface login lasts.
SESSION_LIFETIME = dt.timedelta(days=7)


# Users who log in through single sign-on have no password: no password matches this.
SINGLE_SIGN_ON_PASSWORD_HASH = ""


def _new_session_secrets() -> tuple[str, str]:
    """A session ID (for the cookie) and a CSRF token (for the page's script)."""
    return (
        secrets.token_urlsafe(tokens.TOKEN_RANDOM_BYTES),
        secrets.token_urlsafe(tokens.TOKEN_RANDOM_BYTES),
    )


def _insert_session(
    conn: Connection, user: User, session_id: str, csrf_token: str, now: dt.datetime
) -> None:
    access.insert_session(
        conn,
        session_hash=tokens.token_hash(session_id),
        user_id=user.id,
        csrf_token=csrf_token,
        expires_at=now + SESSION_LIFETIME,
        now=now,
    )


class LoginRefused(Exception):
    """Wrong user name or password; `retry_after` is set when the address must wait first."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, slots=True)
class Login:
    """A new session: the ID goes into the cookie, the CSRF token to the page's script."""

    session_id: str
    csrf_token: str
    user: User


class TokenKind:
    API = "api"
    ENROLMENT = "enrolment"


@dataclasses.dataclass(frozen=True, slots=True)
class CreatedToken:
    """A token just made: the only time the token itself is known."""

    token: str
    record: AccessToken


class AccessControl:
    """Turns credentials into principals; keeps tokens (hashed) and job submitters in the database.

    Nothing is cached: a token revoked through one Manager process stops working
    in every process with the next request.
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        enabled: bool,
        enrolment_secret: str,
        worker_check: WorkerCheck,
        trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
        proxy_user_header: str = "X-Forwarded-User",
        proxy_role: Role = Role.VIEWER,
    ) -> None:
        self._db = db
        self._clock = clock
        self.enabled = enabled
        self._enrolment_secret = enrolment_secret
        self._worker_check = worker_check
        self._throttle = LoginThrottle(clock)
        self._trusted_proxies = trusted_proxies
        self.proxy_user_header = proxy_user_header
        self._proxy_role = proxy_role

    def guards(self, requirement: Requirement) -> bool:
        """Whether a request needing `requirement` must bring credentials.

        With access control off, only registering a Worker may be guarded: by
        `worker_enrolment_secret`, when it is set.
        """
        if requirement.public:
            return False
        if self.enabled:
            return True
        return requirement.consumes_enrolment and bool(self._enrolment_secret)

    async def authenticate(
        self, credentials: tokens.Bearer | tokens.Basic, requirement: Requirement
    ) -> Principal | None:
        """Who the credentials belong to; None when they belong to nobody (or no longer)."""
        if isinstance(credentials, tokens.Basic):
            if await self._worker_check(credentials.username, credentials.password):
                return Principal(credentials.username, Credential.WORKER)
            return None
        given = credentials.token
        if self._enrolment_secret and tokens.same_secret(given, self._enrolment_secret):
            return Principal(ENROLMENT_SECRET_PRINCIPAL, Credential.ENROLMENT)
        digest = tokens.token_hash(given)
        now = self._clock.now()
        found = await self._db.read(lambda conn: access.find_usable_api_token(conn, digest, now))
        if found is not None:
            return Principal(found.principal, Credential.TOKEN, Role(found.role))
        if requirement.consumes_enrolment:
            # Registering takes the enrolment token: a single-use one works once.
            enrolled = await self._db.write(
                lambda conn: access.use_enrolment_token(conn, digest, now)
            )
        else:
            # Found, without using it up: it is valid, if perhaps not for this.
            enrolled = await self._db.read(
                lambda conn: access.find_enrolment_token(conn, digest, now)
            )
        if enrolled is not None:
            return Principal(enrolled, Credential.ENROLMENT)
        return None

    def is_trusted_proxy(self, address: str | None) -> bool:
        if not self._trusted_proxies or not address:
            return False
        try:
            client = ipaddress.ip_address(address)
        except ValueError:
            return False  # A Unix socket, say: not a configured proxy.
        return any(client in network for network in self._trusted_proxies)

    async def proxy_principal(self, name: str) -> Principal:
        """The person a trusted proxy vouches for: the role of the local user of that
        name, else `trusted_proxy_role`."""
        user = await self._db.read(lambda conn: access.fetch_user(conn, name))
        role = Role(user.role) if user is not None else self._proxy_role
        return Principal(name, Credential.PROXY, role)

    async def create_token(
        self,
        *,
        kind: str,
        principal: str,
        role: Role | None,
        description: str = "",
        valid_for: dt.timedelta | None = None,
        single_use: bool = False,
    ) -> CreatedToken:
        token = tokens.new_token()
        now = self._clock.now()
        expires_at = None if valid_for is None else now + valid_for

        def transaction(conn: Connection) -> AccessToken:
            token_id = access.insert_token(
                conn,
                token_hash=tokens.token_hash(token),
                kind=kind,
                principal=principal,
                role="" if role is None else str(role),
                description=description,
                expires_at=expires_at,
                single_use=single_use,
                now=now,
            )
            record = access.fetch_token(conn, token_id)
            assert record is not None
            return record

        record = await self._db.write(transaction)
        logger.info(
            "access token created",
            extra={"token_id": record.id, "kind": kind, "principal": principal, "role": str(role)},
        )
        return CreatedToken(token, record)

    async def fetch_tokens(self) -> list[AccessToken]:
        return await self._db.read(access.fetch_tokens)

    async def revoke_token(self, token_id: int) -> bool:
        now = self._clock.now()
        revoked = await self._db.write(lambda conn: access.revoke_token(conn, token_id, now))
        if revoked:
            logger.info("access token revoked", extra={"token_id": token_id})
        return revoked

    async def record_submitter(self, job_uuid: str, principal: Principal) -> None:
        """Remember who submitted the job, so that an artist may change it later."""
        if principal.credential == Credential.OPEN:
            return  # Nothing changes for a Manager without access control.
        await self._db.write(lambda conn: access.record_submitter(conn, job_uuid, principal.name))

    async def job_submitter(self, job_uuid: str) -> Submitter | None:
        return await self._db.read(lambda conn: access.fetch_job_submitter(conn, job_uuid))

    async def task_job_submitter(self, task_uuid: str) -> Submitter | None:
        return await self._db.read(lambda conn: access.fetch_task_job_submitter(conn, task_uuid))

    # Web interface users and their sessions.

    async def save_user(self, name: str, role: Role, password: str) -> None:
        """Add a user, or give an existing one a new role and password."""
        problem = passwords.password_problem(password)
        if problem:
            raise ValueError(problem)
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
        now = self._clock.now()
        await self._db.write(
            lambda conn: access.save_user(
                conn, name=name, role=str(role), password_hash=password_hash, now=now
            )
        )
        logger.info("user saved", extra={"user": name, "role": str(role)})

    async def fetch_users(self) -> list[User]:
        return await self._db.read(access.fetch_users)

    async def delete_user(self, name: str) -> bool:
        deleted = await self._db.write(lambda conn: access.delete_user(conn, name))
        if deleted:
            logger.info("user deleted", extra={"user": name})
        return deleted

    async def log_in(self, name: str, password: str, address: str) -> Login:
        wait = self._throttle.retry_after(address)
        if wait is not None:
            raise LoginRefused("too many failed logins; try again later", retry_after=wait)
        user = await self._db.read(lambda conn: access.fetch_user(conn, name))
        matches = await asyncio.to_thread(
            passwords.password_matches, password, None if user is None else user.password_hash
        )
        if user is None or not matches:
            self._throttle.failed(address)
            logger.info("login failed", extra={"user": name, "address": address})
            raise LoginRefused("wrong user name or password")
        self._throttle.succeeded(address)
        session_id, csrf_token = _new_session_secrets()
        now = self._clock.now()
        await self._db.write(lambda conn: _insert_session(conn, user, session_id, csrf_token, now))
        logger.info("user logged in", extra={"user": name, "address": address})
        return Login(session_id, csrf_token, user)

    async def log_in_single_sign_on(self, name: str, role: Role, address: str) -> Login:
        """A session for someone the OpenID Connect provider vouches for.

        They become a user without a password (so they cannot log in with one) whose
        role the provider's groups set anew at each login. A local user of the same
        name keeps their account: the provider may not take it over.
        """
        session_id, csrf_token = _new_session_secrets()
        now = self._clock.now()

        def transaction(conn: Connection) -> User | None:
            existing = access.fetch_user(conn, name)
            if existing is not None and existing.password_hash != SINGLE_SIGN_ON_PASSWORD_HASH:
                return None
            access.save_user(
                conn, name=name, role=str(role), password_hash=SINGLE_SIGN_ON_PASSWORD_HASH, now=now
            )
            user = access.fetch_user(conn, name)
            assert user is not None
            _insert_session(conn, user, session_id, csrf_token, now)
            return user

        user = await self._db.write(transaction)
        if user is None:
            logger.info("single sign-on refused", extra={"user": name, "address": address})
            raise LoginRefused(
                f"{name} is a local user with a password here; they log in with that, "
                "or an administrator deletes the local user"
            )
        logger.info(
            "user logged in", extra={"user": name, "address": address, "via": "single sign-on"}
        )
        return Login(session_id, csrf_token, user)

    async def session(self, session_id: str) -> Session | None:
        digest = tokens.token_hash(session_id)
        now = self._clock.now()
        return await self._db.read(lambda conn: access.find_session(conn, digest, now))

    async def log_out(self, session_id: str) -> None:
        digest = tokens.token_hash(session_id)
        await self._db.write(lambda conn: access.delete_session(conn, digest))

    # The audit log.

    async def audit(
        self,
        principal: Principal,
        *,
        address: str,
        operation: str,
        subject: str,
        detail: dict[str, Any],
        status: int,
    ) -> None:
        now = self._clock.now()
        await self._db.write(
            lambda conn: access.insert_audit_entry(
                conn,
                principal=principal.name,
                address=address,
                operation=operation,
                subject=subject,
                detail=detail,
                status=status,
                now=now,
            )
        )

    async def fetch_audit_log(self, *, before: int, limit: int) -> list[AuditEntry]:
        return await self._db.read(
            lambda conn: access.fetch_audit_log(conn, before=before, limit=limit)
        )
