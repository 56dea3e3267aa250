"""Access control records: API and Worker enrolment tokens, and who submitted each job."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import optional_time, to_db_time


@dataclasses.dataclass(frozen=True, slots=True)
class AccessToken:
    """A stored token, without the token itself (only its hash is kept)."""

    id: int
    created_at: dt.datetime
    kind: str
    principal: str
    role: str
    description: str
    expires_at: dt.datetime | None
    single_use: bool
    used_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Any) -> AccessToken:
        return cls(
            id=int(row["id"]),
            created_at=dt.datetime.fromisoformat(row["created_at"]),
            kind=row["kind"],
            principal=row["principal"],
            role=row["role"],
            description=row["description"],
            expires_at=optional_time(row["expires_at"]),
            single_use=bool(row["single_use"]),
            used_at=optional_time(row["used_at"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Submitter:
    """Who submitted a job: `principal` is None for jobs submitted while access control was off."""

    job_uuid: str
    principal: str | None


def insert_token(
    conn: Connection,
    *,
    token_hash: str,
    kind: str,
    principal: str,
    role: str,
    description: str,
    expires_at: dt.datetime | None,
    single_use: bool,
    now: dt.datetime,
) -> int:
    row = conn.execute(
        "insert_access_token",
        {
            "now": to_db_time(now),
            "token_hash": token_hash,
            "kind": kind,
            "principal": principal,
            "role": role,
            "description": description,
            "expires_at": None if expires_at is None else to_db_time(expires_at),
            "single_use": int(single_use),
        },
    ).fetchone()
    return int(row[0])


def fetch_tokens(conn: Connection) -> list[AccessToken]:
    return [AccessToken.from_row(row) for row in conn.execute("fetch_access_tokens")]


def fetch_token(conn: Connection, token_id: int) -> AccessToken | None:
    row = conn.execute("fetch_access_token", {"id": token_id}).fetchone()
    return None if row is None else AccessToken.from_row(row)


def find_usable_api_token(
    conn: Connection, token_hash: str, now: dt.datetime
) -> AccessToken | None:
    row = conn.execute(
        "find_usable_api_token", {"token_hash": token_hash, "now": to_db_time(now)}
    ).fetchone()
    return None if row is None else AccessToken.from_row(row)


def use_enrolment_token(conn: Connection, token_hash: str, now: dt.datetime) -> str | None:
    """The principal the enrolment token was made for, or None when it cannot be used (any more)."""
    row = conn.execute(
        "use_enrolment_token", {"token_hash": token_hash, "now": to_db_time(now)}
    ).fetchone()
    return None if row is None else str(row["principal"])


def find_enrolment_token(conn: Connection, token_hash: str, now: dt.datetime) -> str | None:
    """Like use_enrolment_token(), without using it up."""
    row = conn.execute(
        "find_enrolment_token", {"token_hash": token_hash, "now": to_db_time(now)}
    ).fetchone()
    return None if row is None else str(row["principal"])


def revoke_token(conn: Connection, token_id: int, now: dt.datetime) -> bool:
    cursor = conn.execute("revoke_access_token", {"id": token_id, "now": to_db_time(now)})
    return cursor.rowcount > 0


def record_submitter(conn: Connection, job_uuid: str, principal: str) -> None:
    conn.execute("insert_job_submitter", {"job_uuid": job_uuid, "principal": principal})


def fetch_job_submitter(conn: Connection, job_uuid: str) -> Submitter | None:
    """Who submitted the job; None when there is no such job."""
    row = conn.execute("fetch_job_submitter", {"job_uuid": job_uuid}).fetchone()
    return None if row is None else Submitter(row["job_uuid"], row["principal"])


def fetch_task_job_submitter(conn: Connection, task_uuid: str) -> Submitter | None:
    """Who submitted the task's job; None when there is no such task."""
    row = conn.execute("fetch_task_job_submitter", {"task_uuid": task_uuid}).fetchone()
    return None if row is None else Submitter(row["job_uuid"], row["principal"])


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    """A person who logs in to the web interface."""

    id: int
    name: str
    role: str
    password_hash: str

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(int(row["id"]), row["name"], row["role"], row["password_hash"])


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: whose, and the token its requests that change things must carry."""

    user_name: str
    role: str
    csrf_token: str


def save_user(
    conn: Connection, *, name: str, role: str, password_hash: str, now: dt.datetime
) -> None:
    """Add the user, or give an existing one this role and password."""
    conn.execute(
        "insert_user",
        {"now": to_db_time(now), "name": name, "role": role, "password_hash": password_hash},
    )


def fetch_user(conn: Connection, name: str) -> User | None:
    row = conn.execute("fetch_user_by_name", {"name": name}).fetchone()
    return None if row is None else User.from_row(row)


def fetch_users(conn: Connection) -> list[User]:
    return [User.from_row(row) for row in conn.execute("fetch_users")]


def count_users(conn: Connection) -> int:
    return int(conn.execute("count_users").fetchone()[0])


def delete_user(conn: Connection, name: str) -> bool:
    return conn.execute("delete_user", {"name": name}).rowcount > 0


def insert_session(
    conn: Connection,
    *,
    session_hash: str,
    user_id: int,
    csrf_token: str,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> None:
    conn.execute("delete_expired_sessions", {"now": to_db_time(now)})
    conn.execute(
        "insert_session",
        {
            "now": to_db_time(now),
            "session_hash": session_hash,
            "user_id": user_id,
            "csrf_token": csrf_token,
            "expires_at": to_db_time(expires_at),
        },
    )


def find_session(conn: Connection, session_hash: str, now: dt.datetime) -> Session | None:
    row = conn.execute(
        "find_session", {"session_hash": session_hash, "now": to_db_time(now)}
    ).fetchone()
    return None if row is None else Session(row["name"], row["role"], row["csrf_token"])


def delete_session(conn: Connection, session_hash: str) -> None:
    conn.execute("delete_session", {"session_hash": session_hash})


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who changed what: one request that changed the farm, its settings or its access."""

    id: int
    created_at: dt.datetime
    principal: str
    address: str
    operation: str
    subject: str
    detail: dict[str, Any]
    status: int

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        return cls(
            id=int(row["id"]),
            created_at=dt.datetime.fromisoformat(row["created_at"]),
            principal=row["principal"],
            address=row["address"],
            operation=row["operation"],
            subject=row["subject"],
            detail=json.loads(row["detail"]),
            status=int(row["status"]),
        )


def insert_audit_entry(
    conn: Connection,
    *,
    principal: str,
    address: str,
    operation: str,
    subject: str,
    detail: dict[str, Any],
    status: int,
    now: dt.datetime,
) -> None:
    conn.execute(
        "insert_audit_entry",
        {
            "now": to_db_time(now),
            "principal": principal,
            "address": address,
            "operation": operation,
            "subject": subject,
            "detail": json.dumps(detail, sort_keys=True),
            "status": status,
        },
    )


def fetch_audit_log(conn: Connection, *, before: int, limit: int) -> list[AuditEntry]:
    rows = conn.execute("fetch_audit_log", {"before": before, "limit": limit})
    return [AuditEntry.from_row(row) for row in rows]
