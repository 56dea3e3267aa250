"""Making tokens and the hashes stored for them; reading credentials from a request's headers."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets

# Tokens carry 256 random bits, so one fast hash suffices: nobody can guess their
# way back from a stored hash, and checking costs nothing per request.
TOKEN_PREFIX = "flamenco_"
TOKEN_RANDOM_BYTES = 32


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Compared in constant time, so that the answer's timing gives nothing away."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Bearer:
    token: str


@dataclasses.dataclass(frozen=True, slots=True)
class Basic:
    username: str
    password: str


def parse_authorization(header: str) -> Bearer | Basic | None:
    """The credentials of an Authorization header; None when there are none it can read."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == "bearer":
        return Bearer(value)
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator or not username:
        return None
    return Basic(username, password)
