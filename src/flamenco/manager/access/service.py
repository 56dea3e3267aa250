"""The access control service: who sent a request, tokens, and who submitted which job."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from flamenco.clock import Clock
from flamenco.manager.access import tokens
from flamenco.manager.access.roles import Credential, Principal, Requirement, Role
from flamenco.manager.persistence import Connection, Database, access
from flamenco.manager.persistence.access import AccessToken, Submitter

logger = logging.getLogger(__name__)

# Who does what while access control is off: everyone, as upstream.
OPEN_PRINCIPAL = Principal("anonymous", Credential.OPEN, Role.ADMIN)
ENROLMENT_SECRET_PRINCIPAL = "worker_enrolment_secret"

WorkerCheck = Callable[[str, str], Awaitable[bool]]


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
    ) -> None:
        self._db = db
        self._clock = clock
        self.enabled = enabled
        self._enrolment_secret = enrolment_secret
        self._worker_check = worker_check

    def guards(self, requirement: Requirement) -> bool:
        """Whether a request needing `requirement` must bring credentials.

        With access control off, only registering a Worker may be guarded: by
        `worker_enrolment_secret`, when it is set.
        """
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
