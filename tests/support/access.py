"""Access control in tests: Managers with it on, and tokens of each role."""

from __future__ import annotations

from aiohttp import web

from flamenco.manager import keys
from flamenco.manager.access.roles import Role
from flamenco.manager.access.service import TokenKind

ENROLMENT_SECRET = "enrol-me-please"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def api_token(app: web.Application, name: str, role: Role) -> str:
    created = await app[keys.ACCESS].create_token(kind=TokenKind.API, principal=name, role=role)
    return created.token


async def tokens_by_role(app: web.Application) -> dict[Role, str]:
    """One token per role, each acting for a person named after the role."""
    return {role: await api_token(app, f"{role}-person", role) for role in Role}
